// The proof a forwarded ADMIN_* command carries: an HMAC keyed by the admin token (NATS credentials make no one an admin).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CommandMessage } from './messages.js';

function material(message: Pick<CommandMessage, 'id' | 'command' | 'deadlineAt'>): string {
  const c = message.command;
  return [message.id, c.uuid, c.command, c.target, c.payload, String(message.deadlineAt)].join('\n');
}

/** hex HMAC-SHA256(adminToken, the fields that must not change on the way). */
export function proveAdmin(adminToken: string, message: Pick<CommandMessage, 'id' | 'command' | 'deadlineAt'>): string {
  return createHmac('sha256', adminToken).update(material(message)).digest('hex');
}

/** True when `message.proof` was made with `adminToken` over this very message. */
export function checkAdminProof(adminToken: string, message: CommandMessage): boolean {
  if (typeof message.proof !== 'string' || message.proof.length !== 64) return false;
  const expected = Buffer.from(proveAdmin(adminToken, message), 'hex');
  const given = Buffer.from(message.proof, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
