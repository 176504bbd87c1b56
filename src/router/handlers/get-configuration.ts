// GetConfiguration (admin): what the store holds for type/product/major.minor, found:false when nothing.
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { errorMessage } from '../../common/errors.js';
import type { ConfigurationKey, StoredConfiguration } from '../../proto/types.js';
import { assertConfigurationKey } from '../config-store.js';
import type { RouterContext } from '../context.js';
import { grpcError, refusal } from './refusals.js';

export function getConfigurationHandler(ctx: RouterContext): handleUnaryCall<ConfigurationKey, StoredConfiguration> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'GetConfiguration');
    if (refused) return callback(refused);
    let key: ConfigurationKey;
    try {
      key = assertConfigurationKey(call.request);
    } catch (error) {
      return callback(grpcError(status.INVALID_ARGUMENT, errorMessage(error)));
    }
    ctx.store.get(key).then(
      (stored) => callback(null, stored ?? { key, found: false, layers_json: '', pivot_json: '', saved_at_ms: 0 }),
      (error: unknown) => callback(grpcError(status.INTERNAL, `configuration store: ${errorMessage(error)}`)),
    );
  };
}
