// ADMIN_* command dispatch: payload parsed and checked against the admin pivot, then the handler; errors become replies.
import { coded, errorMessage, isWorkerAdminError, replyError } from '../../common/errors.js';
import type { Command } from '../../proto/types.js';
import { parseProductRef } from '../../common/names.js';
import { DEFAULT_ADMIN_COMMAND_TIMEOUT_MS } from '../../sdk/rpc.js';
import { FLEET_COMMAND_PREFIX, FLEET_WIDE_COMMANDS } from '../fleet-port.js';
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

/** ADMIN_UPDATE, ADMIN_ROLLBACK, ADMIN_SET_UPDATE_MODE act fleet-wide for a fleet-managed product only. */
function isFleetWide(command: string): boolean {
  return (FLEET_WIDE_COMMANDS as readonly string[]).includes(command);
}

function managedTarget(payload: unknown, ctx: AdminContext): boolean {
  const product = (payload as Record<string, unknown>)['product'];
  if (typeof product !== 'string') return false;
  try {
    return ctx.fleet?.managed(parseProductRef(product)) ?? false;
  } catch {
    return false;
  }
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
  const fleetHandler = ctx.fleet?.handlers[command.command];
  const handler = fleetHandler && (!isFleetWide(command.command) || managedTarget(payload, ctx)) ? fleetHandler : handlers[command.command];
  if (!handler && !ctx.fleet && command.command.startsWith(FLEET_COMMAND_PREFIX)) {
    return { status: 'FAIL', error: coded('NOT_IN_FLEET', `${command.command} acts on a fleet, and this host is not in one (its configuration has no fleet: section)`) };
  }
  if (!handler) return { status: 'FAIL', error: coded('UNKNOWN_COMMAND', `${command.command} is not available in this admin`) };
  try {
    // A fleet rollout answers before the caller's deadline, saying it goes on, rather than leave it a bare TIMEOUT.
    const call = { uuid: command.uuid, deadlineAt: Date.now() + (command.timeout_ms > 0 ? command.timeout_ms : DEFAULT_ADMIN_COMMAND_TIMEOUT_MS) };
    return { status: 'SUCCESS', payload: await handler(payload as Record<string, unknown>, ctx, call) };
  } catch (error) {
    if (isWorkerAdminError(error, 'PAYLOAD_INVALID')) return { status: 'INVALID', error: replyError(error) };
    ctx.logger.warn({ command: command.command, uuid: command.uuid, err: errorMessage(error) }, 'admin command failed');
    return { status: 'FAIL', error: replyError(error) };
  }
}
