// What the fleet's client commands share: --router, --token, --state-dir as `send` reads them, one ADMIN_* command sent
// with the admin token, and who the user is (`by` in the fleet's history).
import { hostname, userInfo } from 'node:os';
import { parseJsonOrNull } from '../../sdk/messages.js';
import { createRouterRpc, DEFAULT_ADMIN_COMMAND_TIMEOUT_MS } from '../../sdk/rpc.js';
import { resolveClientTarget } from '../send.js';

/** The options every fleet client command takes. */
export const CLIENT_OPTIONS = { router: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' } } as const;

/** The reply of one admin command: its payload, or its `CODE: explanation`. */
type AdminAnswer = { ok: true; payload: unknown } | { ok: false; error: string };

/** Sends `command` to the admin behind the router the flags name; INVALID and FAIL come back as `error`. */
export async function sendAdminCommand(values: Record<string, unknown>, command: string, payload: Record<string, unknown>): Promise<AdminAnswer> {
  const flags: { router?: string; token?: string; stateDir?: string } = {};
  if (typeof values['router'] === 'string') flags.router = values['router'];
  if (typeof values['token'] === 'string') flags.token = values['token'];
  if (typeof values['state-dir'] === 'string') flags.stateDir = values['state-dir'];
  const target = await resolveClientTarget(flags, true);
  const rpc = createRouterRpc({ address: target.router, token: target.token });
  try {
    const reply = await rpc.sendCommand({ command, payload: JSON.stringify(payload), timeout_ms: DEFAULT_ADMIN_COMMAND_TIMEOUT_MS });
    return reply.status === 'SUCCESS' ? { ok: true, payload: parseJsonOrNull(reply.payload) } : { ok: false, error: reply.error || reply.status };
  } finally {
    rpc.close();
  }
}

/** `user@machine`, recorded as who changed the fleet (informative: every holder of the admin token may say anything). */
export function whoAmI(): string {
  let user = process.env['USER'] ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid: the environment's name stands
  }
  return `${user}@${hostname()}`;
}
