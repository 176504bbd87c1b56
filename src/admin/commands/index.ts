// ADMIN_* command dispatch: payload parsed and checked against the admin pivot, then the handler; errors become replies.
import { coded, errorMessage, isWorkerAdminError, replyError } from '../../common/errors.js';
import type { Command } from '../../proto/types.js';
import { adminPivot } from '../pivot.js';
import type { AdminReply } from '../router-link.js';
import type { AdminContext, Handler } from './context.js';
import { getLastVersionWorker, getWorker, listWorkers, startWorker, stopAllWorkers, stopWorker } from './lifecycle.js';

/** The handlers by command name; the update commands are added by the updater. */
export function lifecycleHandlers(): Record<string, Handler> {
  return {
    ADMIN_GET_WORKER: getWorker,
    ADMIN_START_WORKER: startWorker,
    ADMIN_STOP_WORKER: stopWorker,
    ADMIN_GET_LAST_VERSION_WORKER: getLastVersionWorker,
    ADMIN_LIST_WORKERS: listWorkers,
    ADMIN_STOP_ALL_WORKERS: stopAllWorkers,
  };
}

/** Answers one ADMIN_* command: INVALID for a bad payload, FAIL `CODE: reason` for a refusal, else SUCCESS. */
export async function handleAdminCommand(command: Command, handlers: Record<string, Handler>, ctx: AdminContext): Promise<AdminReply> {
  let payload: unknown;
  try {
    payload = command.payload.trim() === '' ? {} : JSON.parse(command.payload);
  } catch (error) {
    return { status: 'INVALID', error: coded('PAYLOAD_INVALID', `payload of ${command.command} is not JSON: ${errorMessage(error)}`) };
  }
  try {
    adminPivot().validate(command.command, payload);
  } catch (error) {
    return { status: 'INVALID', error: replyError(error) };
  }
  const handler = handlers[command.command];
  if (!handler) return { status: 'FAIL', error: coded('UNKNOWN_COMMAND', `${command.command} is not available in this admin`) };
  try {
    return { status: 'SUCCESS', payload: await handler(payload as Record<string, unknown>, ctx) };
  } catch (error) {
    if (isWorkerAdminError(error, 'PAYLOAD_INVALID')) return { status: 'INVALID', error: replyError(error) };
    ctx.logger.warn({ command: command.command, uuid: command.uuid, err: errorMessage(error) }, 'admin command failed');
    return { status: 'FAIL', error: replyError(error) };
  }
}
