// utils/echo 1.1: as 1.0 (ECHO returns its payload, SLOW waits {ms}), plus VERSION returning {version}.
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorker } from 'worker-admin/sdk';

interface Ctx { signal?: AbortSignal }

// Set once startWorker resolves; a handler running earlier sees undefined instead of a TDZ error.
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
const config = (): Record<string, unknown> => (worker?.config ?? {}) as Record<string, unknown>;

worker = await startWorker({
  commands: {
    ECHO: async (payload: unknown) => {
      worker?.emit('ECHOED', { flavor: config()['flavor'] ?? null }).catch(() => undefined);
      return payload;
    },
    SLOW: async (payload: unknown, ctx: Ctx) => {
      const ms = Number((payload as { ms?: unknown }).ms);
      const max = Number(config()['max_sleep_ms'] ?? 60000);
      if (!Number.isInteger(ms) || ms < 0 || ms > max) throw new Error(`ms must be an integer from 0 to ${max}`);
      await sleep(ms, undefined, ctx.signal ? { signal: ctx.signal } : undefined);
      return { slept: ms };
    },
    VERSION: async () => ({ version: worker?.version ?? '1.1' }),
  },
  events: ['ECHOED'],
});
