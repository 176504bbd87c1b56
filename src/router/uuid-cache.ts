// Replays: a uuid pending or answered in the last 10 minutes gets the same Reply, never a second run.
import { createHash } from 'node:crypto';
import type { Reply } from '../proto/types.js';

const REPLAY_WINDOW_MS = 10 * 60_000;

type UuidLookup = { kind: 'new' } | { kind: 'replay'; reply: Promise<Reply> } | { kind: 'conflict' };

interface Answered {
  fingerprint: string;
  reply: Reply;
  at: number;
  bytes: number;
}

interface UuidCacheLimits {
  windowMs: number;
  /** Most answered replies kept (oldest forgotten first, even inside the window). */
  maxEntries: number;
  /** Most reply bytes kept. */
  maxBytes: number;
}

const DEFAULT_UUID_CACHE_LIMITS: UuidCacheLimits = { windowMs: REPLAY_WINDOW_MS, maxEntries: 1_000_000, maxBytes: 256 * 1024 * 1024 };

/** Sweeps for age alone run at most this often (ms). */
const SWEEP_MS = 1000;

/** Payloads up to this many characters are their own fingerprint (about a digest's size; no sha256 per command). */
const INLINE_FINGERPRINT = 64;

/** What makes two commands "the same": name and payload (digest, so big payloads are not kept). */
export function commandFingerprint(command: string, payload: string): string {
  // The prefixes keep the two forms apart: a short payload never equals a digest.
  if (payload.length <= INLINE_FINGERPRINT) return `=${command}\0${payload}`;
  return `#${createHash('sha256').update(command).update('\0').update(payload).digest('base64')}`;
}

export class UuidCache {
  private readonly pending = new Map<string, { fingerprint: string; reply: Promise<Reply> }>();
  /** Insertion order = answer order, so expiry is from the front. */
  private readonly answered = new Map<string, Answered>();
  private bytes = 0;
  private sweptAt = -Infinity;

  constructor(
    private readonly limits: UuidCacheLimits = DEFAULT_UUID_CACHE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** What to do with a command carrying `uuid`. */
  lookup(uuid: string, fingerprint: string): UuidLookup {
    const pending = this.pending.get(uuid);
    if (pending) return pending.fingerprint === fingerprint ? { kind: 'replay', reply: pending.reply } : { kind: 'conflict' };
    const answered = this.answered.get(uuid);
    if (!answered) return { kind: 'new' };
    if (answered.at <= this.now() - this.limits.windowMs) {
      // past the window, whether or not a sweep ran since: forgotten (deleted now, so a new answer goes to the end)
      this.forget(uuid, answered);
      return { kind: 'new' };
    }
    return answered.fingerprint === fingerprint ? { kind: 'replay', reply: Promise.resolve(answered.reply) } : { kind: 'conflict' };
  }

  /** Records a command now pending. */
  begin(uuid: string, fingerprint: string, reply: Promise<Reply>): void {
    this.pending.set(uuid, { fingerprint, reply });
  }

  /** Records its reply for the replay window. */
  finish(uuid: string, reply: Reply): void {
    const pending = this.pending.get(uuid);
    if (!pending) return;
    this.pending.delete(uuid);
    const bytes = reply.payload.length + reply.error.length + 200;
    this.answered.set(uuid, { fingerprint: pending.fingerprint, reply, at: this.now(), bytes });
    this.bytes += bytes;
    this.expire();
  }

  get size(): { pending: number; answered: number } {
    return { pending: this.pending.size, answered: this.answered.size };
  }

  /**
   * Forgets answers older than the window or beyond the limits. Over a limit it runs at once; for age alone at most
   * once per SWEEP_MS (lookups check the age themselves), not on every command.
   */
  expire(): void {
    const now = this.now();
    const overLimits = this.answered.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes;
    if (!overLimits && now - this.sweptAt < SWEEP_MS) return;
    this.sweptAt = now;
    const oldest = now - this.limits.windowMs;
    for (const [uuid, entry] of this.answered) {
      if (entry.at > oldest && this.answered.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.forget(uuid, entry);
    }
  }

  private forget(uuid: string, entry: Answered): void {
    this.answered.delete(uuid);
    this.bytes -= entry.bytes;
  }
}
