// Commands other hosts send here: served by a local worker or bounced at once, never forwarded again.
import type { Logger } from '../../common/log.js';
import type { RouterFleetPort } from '../../router/fleet-port.js';
import type { Answer, CommandEnvelope } from '../transport/envelope.js';
import { checkAdminProof } from '../transport/proof.js';

interface InboundState {
  /** This host's current incarnation. */
  incarnation(): string;
  /** Why this host must not run commands of other hosts now (lease maybe lapsed, leaving), or undefined. */
  refusal(): string | undefined;
}

export class Inbound {
  /** Commands taken and not answered yet. */
  inFlight = 0;
  served = 0;
  bounced = 0;
  /** Ids of proved admin commands already taken, until their deadline (a re-published message is refused). */
  private readonly seenProofs = new Map<string, number>();
  private idle: Array<() => void> = [];

  constructor(
    private readonly port: RouterFleetPort,
    private readonly state: InboundState,
    private readonly adminToken: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  take(envelope: CommandEnvelope, payload: string, answer: (answer: Answer) => void, batched: boolean): void {
    const bounce = (reason: string): void => {
      this.bounced += 1;
      answer({ kind: 'bounce', reason });
    };
    if (envelope.to.incarnation !== this.state.incarnation()) return bounce(`incarnation ${envelope.to.incarnation} is not this host's (${this.state.incarnation()})`);
    const refusal = this.state.refusal();
    if (refusal !== undefined) return bounce(refusal);
    if (envelope.ttlMs <= 0) return; // its sender has answered it already
    const command = { ...envelope.command, payload, timeout_ms: envelope.ttlMs, context: envelope.command.context ?? {} };
    if (envelope.proof !== undefined || command.command.startsWith('ADMIN_')) {
      const problem = this.checkProof(envelope, payload);
      if (problem) {
        this.logger.warn({ from: envelope.from.host, command: command.command }, `forwarded admin command refused: ${problem}`);
        answer({ kind: 'reply', reply: { uuid: command.uuid, status: 'INVALID', payload: '', error: `UNAUTHENTICATED: ${problem}`, worker: '' } });
        return;
      }
    }
    const reply = this.port.takeCommand(command, batched);
    if (reply === undefined) return bounce('no READY worker here can take it now');
    this.inFlight += 1;
    void reply.then((r) => {
      this.inFlight -= 1;
      this.served += 1;
      answer({ kind: 'reply', reply: r });
      if (this.inFlight === 0) this.wakeIdle();
    });
  }

  /** Resolves when no command of another host is running here. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private wakeIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }

  private checkProof(envelope: CommandEnvelope, payload: string): string | undefined {
    if (envelope.proof === undefined) return 'an ADMIN_* command from another host carries no proof of the admin token';
    if (!checkAdminProof(this.adminToken, envelope, payload)) return 'the proof of the admin token does not match';
    const now = this.now();
    for (const [id, until] of this.seenProofs) if (until <= now) this.seenProofs.delete(id);
    if (this.seenProofs.has(envelope.id)) return `message ${envelope.id} was already taken (replayed)`;
    this.seenProofs.set(envelope.id, now + envelope.ttlMs);
    return undefined;
  }
}
