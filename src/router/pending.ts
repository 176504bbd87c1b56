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
  readonly reply: Promise<Reply>;
  private resolveReply!: (reply: Reply) => void;

  constructor(
    readonly command: Command,
    /** The payload, parsed (for schema checks). */
    readonly payload: unknown,
    readonly receivedAt: number,
    readonly deadlineAt: number,
  ) {
    this.reply = new Promise((resolve) => {
      this.resolveReply = resolve;
    });
  }

  get uuid(): string {
    return this.command.uuid;
  }

  /** Gives the reply; false (and nothing happens) when it was already given. */
  settle(reply: Reply): boolean {
    if (this.state === 'DONE') return false;
    this.state = 'DONE';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.resolveReply(reply);
    return true;
  }
}

/** A Reply made by the router itself (not by a worker). */
export function routerReply(uuid: string, status: Status, error: string, worker = ''): Reply {
  return { uuid, status, payload: '', error, worker };
}
