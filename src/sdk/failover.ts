// A client given several routers (a fleet): a command whose router cannot be reached goes to the next one, with the
// same uuid, so that it never runs twice (docs/fleet.md, replay in a fleet).
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { WorkerAdminError } from '../common/errors.js';
import type { Command, Reply } from '../proto/types.js';
import type { RouterRpc } from './rpc.js';

/** How commands reach one router: unary SendCommand calls, or SendCommands streams (src/sdk/stream-pool.ts). */
export interface CommandSender {
  send(command: Partial<Command>): Promise<Reply>;
  close(): void;
}

/** gRPC codes that mean "this router did not give an answer": try the next one. */
const FAIL_OVER = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.UNKNOWN, grpc.status.INTERNAL]);

function shouldFailOver(error: unknown): boolean {
  if (!(error instanceof WorkerAdminError)) return false;
  const code = error.details?.['grpcCode'];
  return typeof code === 'number' && FAIL_OVER.has(code);
}

/** Unary SendCommand calls on a router's channel. */
export function unarySender(rpc: RouterRpc): CommandSender {
  return { send: (command) => rpc.sendCommand(command), close: () => undefined };
}

/** Routers in order of preference; the one that answered last is tried first next time. */
export class RouterPool {
  private current = 0;

  /** `senders[i]` sends to `rpcs[i]` (unary by default). */
  constructor(
    readonly rpcs: RouterRpc[],
    private readonly senders: CommandSender[] = rpcs.map(unarySender),
  ) {}

  /** The router in use (events, listWorkers). */
  get preferred(): RouterRpc {
    return this.rpcs[this.current]!;
  }

  /**
   * Sends through the preferred router, then the others. A command the caller gave no uuid gets one here: with several
   * routers it may go to the next one under it, so it is a uuid like a caller's; with one it is never sent again and
   * is marked `generated_uuid` (the router keeps no replay memory for it, docs/protocol.md).
   */
  async send(command: Partial<Command>): Promise<Reply> {
    const withUuid = command.uuid ? command : { ...command, uuid: randomUUID(), generated_uuid: this.rpcs.length > 1 ? command.generated_uuid : true };
    let last: unknown;
    for (let i = 0; i < this.rpcs.length; i += 1) {
      const index = (this.current + i) % this.rpcs.length;
      try {
        const reply = await this.senders[index]!.send(withUuid);
        this.current = index;
        return reply;
      } catch (error) {
        if (!shouldFailOver(error) || this.rpcs.length === 1) throw error;
        last = error;
      }
    }
    throw last;
  }

  close(): void {
    for (const sender of this.senders) sender.close();
    for (const rpc of this.rpcs) rpc.close();
  }
}
