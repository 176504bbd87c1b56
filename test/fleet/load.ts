// A closed-loop load for fault tests: `concurrency` commands outstanding through one router until stopped; every
// command sent is kept with its reply, so a test can check that each got exactly one.
import { randomUUID } from 'node:crypto';
import type { Command, Reply } from '../../src/proto/types.js';
import type { RouterRpc } from '../../src/sdk/rpc.js';

export interface Sent {
  command: Partial<Command>;
  sentAt: number;
  reply?: Reply;
  repliedAt?: number;
  error?: string;
}

interface Load {
  sent: Sent[];
  /** Stops sending and waits for every outstanding reply. */
  stop(): Promise<Sent[]>;
}

/** Sends `next(i)` commands, `concurrency` at a time, through `rpc`. */
export function runLoad(rpc: RouterRpc, next: (i: number) => Partial<Command>, concurrency: number): Load {
  const sent: Sent[] = [];
  let stopped = false;
  let i = 0;
  const lane = async (): Promise<void> => {
    while (!stopped) {
      const command = { uuid: randomUUID(), timeout_ms: 20_000, ...next(i++) };
      const entry: Sent = { command, sentAt: Date.now() };
      sent.push(entry);
      try {
        entry.reply = await rpc.sendCommand(command, { deadlineMs: 40_000 });
      } catch (error) {
        entry.error = (error as Error).message;
        entry.repliedAt = Date.now();
        // A client closed under a load nobody stopped (a test failed before stop()) rejects at once, forever: that lane
        // ends. Any other error waits a timer tick, so a failing loop never starves timers (test and hook timeouts).
        if (/shut ?down|closed/i.test(entry.error)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      entry.repliedAt = Date.now();
    }
  };
  const lanes = Array.from({ length: concurrency }, () => lane());
  return {
    sent,
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      return sent;
    },
  };
}

/** Status (or gRPC error) counts, for messages. */
export function tally(sent: Sent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sent) {
    const key = s.reply ? (s.reply.status === 'FAIL' ? `FAIL ${s.reply.error.split(':')[0]}` : s.reply.status) : `ERROR ${s.error ?? 'none'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
