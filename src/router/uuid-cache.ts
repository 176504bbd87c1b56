// Replays: a uuid pending or answered in the last 10 minutes gets the same Reply, never a second run.
import { createHash } from 'node:crypto';
import type { Reply } from '../proto/types.js';
import { AnswerLog } from './answer-log.js';

const REPLAY_WINDOW_MS = 10 * 60_000;

/** A pending command: its Reply, asked for only when the uuid comes again while it is pending. */
interface ReplySource {
  readonly reply: Promise<Reply>;
}

type UuidLookup = { kind: 'new' } | { kind: 'replay'; reply: Promise<Reply> } | { kind: 'conflict' };

interface UuidCacheLimits {
  windowMs: number;
  /** Most answered replies kept (oldest forgotten first, even inside the window). */
  maxEntries: number;
  /** Most bytes kept (encoded replies and fingerprints, plus SLOT_OVERHEAD each). */
  maxBytes: number;
}

const DEFAULT_UUID_CACHE_LIMITS: UuidCacheLimits = { windowMs: REPLAY_WINDOW_MS, maxEntries: 1_000_000, maxBytes: 256 * 1024 * 1024 };

/** What one remembered answer costs beyond its encoded bytes (uuid key, Map entry, slot cells), roughly. */
const SLOT_OVERHEAD = 150;

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
  /** Pending commands; `remember`: its answer joins the replay window (not for a uuid the client library made). */
  private readonly pending = new Map<string, { fingerprint: string; command: ReplySource; remember: boolean }>();
  /** Answer order, so expiry is from the front. */
  private readonly answered = new AnswerLog();
  private sweptAt = -Infinity;

  constructor(
    private readonly limits: UuidCacheLimits = DEFAULT_UUID_CACHE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * What to do with a command carrying `uuid`. `once`: the client library made the uuid and never sends it again
   * (docs/protocol.md, generated_uuid): only a command pending under it now matters, and it is a conflict.
   */
  lookup(uuid: string, fingerprint: string, once = false): UuidLookup {
    const pending = this.pending.get(uuid);
    if (pending) return pending.fingerprint === fingerprint && !once ? { kind: 'replay', reply: pending.command.reply } : { kind: 'conflict' };
    if (once) return { kind: 'new' };
    const slot = this.answered.find(uuid);
    if (slot === undefined) return { kind: 'new' };
    if (this.answered.answeredAt(slot) <= this.now() - this.limits.windowMs) {
      // past the window, whether or not a sweep ran since: forgotten now (a new answer takes the key)
      this.answered.forget(uuid);
      return { kind: 'new' };
    }
    if (this.answered.fingerprint(slot) !== fingerprint) return { kind: 'conflict' };
    return { kind: 'replay', reply: Promise.resolve(this.answered.reply(slot, uuid)) };
  }

  /** Records a command now pending; `remember` false: its answer is not kept for replays (a `once` uuid). */
  begin(uuid: string, fingerprint: string, command: ReplySource, remember = true): void {
    this.pending.set(uuid, { fingerprint, command, remember });
  }

  /** Records its reply for the replay window. */
  finish(uuid: string, reply: Reply): void {
    const pending = this.pending.get(uuid);
    if (!pending) return;
    this.pending.delete(uuid);
    if (!pending.remember) return;
    this.answered.append(uuid, pending.fingerprint, reply, this.now());
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
    const log = this.answered;
    const over = (): boolean => log.slots > this.limits.maxEntries || log.bytes + log.slots * SLOT_OVERHEAD > this.limits.maxBytes;
    if (!over() && now - this.sweptAt < SWEEP_MS) return;
    this.sweptAt = now;
    const oldest = now - this.limits.windowMs;
    for (let at = log.oldestAt(); at !== undefined && (at <= oldest || over()); at = log.oldestAt()) log.dropOldest();
  }
}
