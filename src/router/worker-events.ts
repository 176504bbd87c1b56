// Events a connection emits on its stream: checked, stamped with its identity, WORKER_ERROR rewritten.
import { COMMAND_RE, productKey, TOPIC_RE } from '../common/names.js';
import type { Event } from '../proto/types.js';
import type { WorkerConnection } from './connection.js';
import { ADMIN_TOPIC, ROUTER_TOPIC } from './events-hub.js';
import { depthProblem } from './json-depth.js';
import { DEFAULT_LIMITS } from './options.js';

type EventOutcome = { ok: true; event: Partial<Event> & { topic: string; event: string } } | { ok: false; why: string };

/** A worker's error text: a string as written, anything else as JSON (never "[object Object]"). */
const reasonText = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));

/** The event to publish for what `connection` emitted, or why it is dropped. */
export function prepareWorkerEvent(connection: WorkerConnection, input: Partial<Event>, payloadDepth = DEFAULT_LIMITS.payloadDepth): EventOutcome {
  const { identity } = connection;
  const name = input.event ?? '';
  if (!COMMAND_RE.test(name)) return { ok: false, why: `event name ${JSON.stringify(name)} is invalid` };
  const topic = input.topic || productKey(identity);
  if (!TOPIC_RE.test(topic)) return { ok: false, why: `topic ${JSON.stringify(topic)} is invalid` };
  if (topic === ROUTER_TOPIC) return { ok: false, why: 'topic router is reserved for the router' };
  const payloadText = (input.payload ?? '').trim() === '' ? '{}' : (input.payload as string);
  const tooDeep = depthProblem(payloadText, payloadDepth, 'payload');
  if (tooDeep) return { ok: false, why: tooDeep };
  let payload: unknown;
  try {
    payload = JSON.parse(payloadText);
  } catch (error) {
    return { ok: false, why: `payload is not JSON: ${(error as Error).message}` };
  }
  const base = { uuid: input.uuid ?? '', reference_uuid: input.reference_uuid ?? '', topic, event: name };
  if (identity.admin) return { ok: true, event: { ...base, payload: payloadText, source: 'admin' } };
  if (topic === ADMIN_TOPIC) {
    if (name !== 'WORKER_ERROR') return { ok: false, why: 'topic admin takes only WORKER_ERROR from workers' };
    const p = (payload ?? {}) as { message?: unknown; reason?: unknown; isAuthError?: unknown };
    const rewritten = {
      identifier: identity.identifier,
      product: productKey(identity),
      version: identity.version,
      reason: reasonText(p.message ?? p.reason),
      isAuthError: p.isAuthError === true,
    };
    return { ok: true, event: { ...base, payload: JSON.stringify(rewritten), source: connection.name } };
  }
  const problem = identity.eventChecks.get(name)?.(payload);
  if (problem !== undefined) return { ok: false, why: `payload does not match the schema of event ${name}: ${problem}` };
  return { ok: true, event: { ...base, payload: payloadText, source: connection.name } };
}
