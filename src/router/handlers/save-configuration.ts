// SaveConfiguration (admin): checked, persisted atomically, and its pivot's commands become known.
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { errorMessage } from '../../common/errors.js';
import type { Ack, ConfigurationKey, StoredConfiguration } from '../../proto/types.js';
import { assertConfigurationKey } from '../config-store.js';
import type { RouterContext } from '../context.js';
import { grpcError, refusal } from './refusals.js';
import { productKey } from '../../common/names.js';

function jsonProblem(text: string, what: string): string | undefined {
  if (text === '') return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `${what} is not JSON: ${(error as Error).message}`;
  }
}

export function saveConfigurationHandler(ctx: RouterContext): handleUnaryCall<StoredConfiguration, Ack> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'SaveConfiguration');
    if (refused) return callback(refused);
    let key: ConfigurationKey;
    try {
      key = assertConfigurationKey(call.request.key);
    } catch (error) {
      return callback(grpcError(status.INVALID_ARGUMENT, errorMessage(error)));
    }
    const problem = jsonProblem(call.request.layers_json, 'layers_json') ?? jsonProblem(call.request.pivot_json, 'pivot_json');
    if (problem) return callback(grpcError(status.INVALID_ARGUMENT, problem));
    const stored: StoredConfiguration = { ...call.request, key, found: true, saved_at_ms: ctx.now() };
    ctx.store.save(stored).then(
      () => {
        ctx.pivots.record(stored);
        callback(null, { ok: true, message: `${productKey(key)} ${key.major}.${key.minor} saved` });
      },
      (error: unknown) => callback(grpcError(status.INTERNAL, `configuration store: ${errorMessage(error)}`)),
    );
  };
}
