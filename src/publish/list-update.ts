// Read-modify-write of versions.yaml / yanked.yaml with a conditional PUT (If-Match on the ETag read), retried on 412:
// two publishers at once both land, never last-writer-wins.
import { setTimeout as delay } from 'node:timers/promises';
import { WorkerAdminError } from '../common/errors.js';
import type { RemoteRepository } from './remote.js';

interface ListUpdate<T> {
  path: string;
  parse(text: string): T[];
  render(entries: readonly T[]): string;
  /** The new list from the current one; null when nothing needs writing. May throw to stop (a conflict found on re-read). */
  change(current: readonly T[]): T[] | null;
}

/** What happened: how many conditional PUTs it took, and whether the server could not do conditions (no ETag). */
interface ListUpdateResult {
  attempts: number;
  written: boolean;
  unconditional: boolean;
}

/** Applies `update` until a conditional PUT succeeds (at most `attempts` tries, with a growing random pause). */
export async function updateList<T>(remote: RemoteRepository, update: ListUpdate<T>, attempts = 30): Promise<ListUpdateResult> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const current = await remote.get(update.path);
    const entries = current.status === 200 ? update.parse(current.data.toString('utf8')) : [];
    const next = update.change(entries);
    if (next === null) return { attempts: attempt, written: false, unconditional: false };
    const condition = current.status === 404 ? 'absent' as const : current.etag ? { etag: current.etag } : undefined;
    const res = await remote.put(update.path, Buffer.from(update.render(next)), condition ? { condition } : {});
    if (res.status >= 200 && res.status < 300) return { attempts: attempt, written: true, unconditional: condition === undefined };
    if (res.status !== 412) throw new WorkerAdminError('REPOSITORY_ERROR', `PUT ${update.path}: HTTP ${res.status} ${res.text}`);
    await delay(Math.floor(Math.random() * 20 * Math.min(attempt, 10))); // someone else wrote it first: read again
  }
  throw new WorkerAdminError('REPOSITORY_ERROR', `PUT ${update.path}: still changed by someone else after ${attempts} conditional attempts`);
}
