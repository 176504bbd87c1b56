// One command between SendCommand and its single Reply: QUEUED → IN_FLIGHT (or REMOTE: on another host) → DONE, settled once.
import type { Command, Reply, Status } from '../proto/types.js';

type PendingState = 'NEW' | 'QUEUED' | 'IN_FLIGHT' | 'REMOTE' | 'DONE';

/** A command the router owes exactly one Reply. */
export class PendingCommand {
  state: PendingState = 'NEW';
  /** Connection id while IN_FLIGHT. */
  connectionId: number | undefined;
  /** IDENTIFIER@VERSION while IN_FLIGHT, or HOST/IDENTIFIER@VERSION while REMOTE (for TIMEOUT replies). */
  connectionName = '';
  timer: NodeJS.Timeout | undefined;
  /** Sent by another host: served here or bounced, never forwarded again. */
  localOnly = false;
  /**
   * It came with others (a client's batch, another host's turn): it may join the batch of commands a worker gets in
   * this turn. One that came alone leaves for its worker alone, at once (docs/protocol.md, batching).
   */
  batched = false;
  /** The Reply once given. */
  private given: Reply | undefined;
  /** Made only when someone asks (a replay of the uuid while pending, a caller of `submit`). */
  private promised: Promise<Reply> | undefined;
  private resolveReply: ((reply: Reply) => void) | undefined;
  /** Called once with the Reply (the unary and stream handlers: no promise per command). */
  private listener: ((reply: Reply) => void) | undefined;

  constructor(
    readonly command: Command,
    /** The payload, parsed (for schema checks). */
    readonly payload: unknown,
    readonly receivedAt: number,
    readonly deadlineAt: number,
  ) {}

  /** Resolves with the Reply. */
  get reply(): Promise<Reply> {
    if (this.promised === undefined) {
      this.promised = this.given ? Promise.resolve(this.given) : new Promise((resolve) => (this.resolveReply = resolve));
    }
    return this.promised;
  }

  /** Calls `listener` once with the Reply (now, if it was given). One listener per command. */
  onReply(listener: (reply: Reply) => void): void {
    if (this.given) listener(this.given);
    else this.listener = listener;
  }

  get uuid(): string {
    return this.command.uuid;
  }

  /** Takes the reply (DONE); false (and nothing happens) when it was already given. `deliver` hands it over. */
  settle(reply: Reply): boolean {
    if (this.state === 'DONE') return false;
    this.state = 'DONE';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.given = reply;
    return true;
  }

  /** Hands the reply taken by `settle` to whoever waits for it (once the router's books are done). */
  deliver(): void {
    const reply = this.given;
    if (reply === undefined) return;
    this.resolveReply?.(reply);
    this.resolveReply = undefined;
    const listener = this.listener;
    this.listener = undefined;
    listener?.(reply);
  }
}

/** A Reply made by the router itself (not by a worker). */
export function routerReply(uuid: string, status: Status, error: string, worker = ''): Reply {
  return { uuid, status, payload: '', error, worker };
}
