// Runs one command through its handler and turns the outcome into exactly one Reply.
import { coded, errorMessage } from '../common/errors.js';
import type { Command, Reply } from '../proto/types.js';
import { CommandSignal } from './command-signal.js';
import { toJsonText } from './messages.js';
import type { CommandHandler } from './types.js';

/** The reply a worker sends: the router fills `worker` itself. */
export type WorkerReply = Pick<Reply, 'uuid' | 'status' | 'payload' | 'error'>;

/** FAIL with `error`, for a command that never reached a handler. */
export function failReply(uuid: string, error: string): WorkerReply {
  return { uuid, status: 'FAIL', payload: '', error };
}

/** A handler's outcome as the Reply: SUCCESS with its value as JSON, or FAIL when that cannot be made. */
function success(command: Command, value: unknown): WorkerReply {
  try {
    return { uuid: command.uuid, status: 'SUCCESS', payload: toJsonText(value, `the result of ${command.command}`), error: '' };
  } catch (error) {
    return failure(command, error);
  }
}

function failure(command: Command, error: unknown): WorkerReply {
  return failReply(command.uuid, errorMessage(error) || `${command.command} failed`);
}

/**
 * Parses the payload and calls the handler with a signal that aborts on `stop` or at the command's timeout; `done`
 * gets the one Reply (in this call when the handler returns a plain value or throws) and must not throw itself. Never
 * throws.
 */
export function runCommand(command: Command, handler: CommandHandler | undefined, stop: AbortSignal, done: (reply: WorkerReply) => void): void {
  if (!handler) return done(failReply(command.uuid, coded('UNKNOWN_COMMAND', `this worker does not serve ${command.command}`)));
  let payload: unknown;
  try {
    payload = command.payload ? JSON.parse(command.payload) : null;
  } catch (error) {
    return done(failReply(command.uuid, coded('PAYLOAD_INVALID', `payload of ${command.command} is not JSON: ${errorMessage(error)}`)));
  }
  // past timeout_ms the router already answered TIMEOUT: the handler's signal (made only if it asks) tells it to give up
  const signal = new CommandSignal(stop, command.timeout_ms);
  let value: unknown;
  try {
    value = handler(payload, signal.context(command.uuid, command.command));
  } catch (error) {
    signal.dispose();
    return done(failure(command, error));
  }
  if (!isThenable(value)) {
    signal.dispose();
    return done(success(command, value));
  }
  // Promise.resolve: a native promise as it is, any other thenable made well-behaved (one outcome, never a throw here)
  Promise.resolve(value).then(
    (result) => {
      signal.dispose();
      done(success(command, result));
    },
    (error: unknown) => {
      signal.dispose();
      done(failure(command, error));
    },
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
