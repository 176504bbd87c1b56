// The proof a forwarded ADMIN_* command carries: an HMAC keyed by the admin token (NATS credentials make no one an admin).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CommandEnvelope } from './envelope.js';

type Proved = Pick<CommandEnvelope, 'id' | 'to' | 'command' | 'ttlMs'>;

/** A canonical encoding of every field that must not change on the way, the destination included. */
function material(envelope: Proved, payload: string): string {
  const c = envelope.command as Proved['command'] & { product?: string };
  const digest = createHash('sha256').update(payload).digest('hex');
  return JSON.stringify([envelope.id, envelope.to.host, c.uuid, c.command, c.target, c.major, c.product ?? '', digest, envelope.ttlMs]);
}

/** hex HMAC-SHA256(adminToken, material). */
export function proveAdmin(adminToken: string, envelope: Proved, payload: string): string {
  return createHmac('sha256', adminToken).update(material(envelope, payload)).digest('hex');
}

/** True when `envelope.proof` was made with `adminToken` over this very command. */
export function checkAdminProof(adminToken: string, envelope: CommandEnvelope, payload: string): boolean {
  if (typeof envelope.proof !== 'string' || !/^[0-9a-f]{64}$/.test(envelope.proof)) return false;
  const expected = Buffer.from(proveAdmin(adminToken, envelope, payload), 'hex');
  const given = Buffer.from(envelope.proof, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
