// Runs one command through its handler and turns the outcome into exactly one Reply.
import { errorMessage } from '../common/errors.js';
import type { Command, Reply } from '../proto/types.js';
import { lazyCommandContext } from './command-signal.js';
import { toJsonText } from './messages.js';
import type { CommandHandler } from './types.js';

/** The reply a worker sends: the router fills `worker` itself. */
type WorkerReply = Pick<Reply, 'uuid' | 'status' | 'payload' | 'error'>;

/** FAIL with `error`, for a command that never reached a handler. */
export function failReply(uuid: string, error: string): WorkerReply {
  return { uuid, status: 'FAIL', payload: '', error };
}

/** Parses the payload, calls the handler with a signal that aborts on `stop` or at the command's timeout, never throws. */
export async function runCommand(command: Command, handler: CommandHandler | undefined, stop: AbortSignal): Promise<WorkerReply> {
  if (!handler) return failReply(command.uuid, `UNKNOWN_COMMAND: this worker does not serve ${command.command}`);
  let payload: unknown;
  try {
    payload = command.payload ? JSON.parse(command.payload) : null;
  } catch (error) {
    return failReply(command.uuid, `payload of ${command.command} is not JSON: ${errorMessage(error)}`);
  }
  // past timeout_ms the router already answered TIMEOUT: the handler's signal (made only if it asks) tells it to give up
  const { ctx, dispose } = lazyCommandContext(command.uuid, command.command, stop, command.timeout_ms);
  try {
    const value: unknown = await handler(payload, ctx);
    return { uuid: command.uuid, status: 'SUCCESS', payload: toJsonText(value, `the result of ${command.command}`), error: '' };
  } catch (error) {
    return failReply(command.uuid, errorMessage(error) || `${command.command} failed`);
  } finally {
    dispose();
  }
}
