// http/poll 1.0: FETCH {url} → {url, status, headers, sha256, bytes}; with `interval` (and `url`) in its keys it polls
// that URL and emits HTTP_CHANGED {url, status, sha256, previous} each time the body's sha256 differs from the last.
import { createHash } from 'node:crypto';
import { startWorker } from 'worker-admin/sdk';

interface Fetched { url: string; status: number; headers: Record<string, string>; sha256: string; bytes: number }

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
function durationMs(text: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`${key} ${JSON.stringify(text)} is not a duration such as "500ms", "30s" or "5m"`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

let config: Record<string, unknown> = {};

/** One GET: status, headers and the sha256 of the body (read up to max_body_bytes). */
async function fetchOnce(url: string, signal?: AbortSignal): Promise<Fetched> {
  const timeout = AbortSignal.timeout(durationMs(String(config['timeout'] ?? '10s'), 'timeout'));
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS failure…) is its cause
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${url}: ${(error as Error).message}${cause ? `: ${cause}` : ''}`);
  }
  const max = Number(config['max_body_bytes'] ?? 10_485_760);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body ?? []) {
    bytes += (chunk as Uint8Array).length;
    if (bytes > max) throw new Error(`${url}: body over max_body_bytes (${max})`);
    hash.update(chunk as Uint8Array);
  }
  return { url, status: res.status, headers: Object.fromEntries(res.headers), sha256: hash.digest('hex'), bytes };
}

const worker = await startWorker({
  commands: {
    FETCH: async (payload, ctx) => fetchOnce(String((payload as { url: string }).url), ctx.signal),
  },
  events: ['HTTP_CHANGED'],
});
config = worker.config;

const interval = String(config['interval'] ?? '');
if (interval !== '') {
  const url = String(config['url'] ?? '');
  const every = durationMs(interval, 'interval');
  let last: string | undefined;
  const poll = async (): Promise<void> => {
    if (worker.state !== 'READY') return; // draining: nothing new
    try {
      const got = await fetchOnce(url);
      if (last !== undefined && got.sha256 !== last) {
        await worker.emit('HTTP_CHANGED', { url, status: got.status, sha256: got.sha256, previous: last });
      }
      last = got.sha256;
    } catch (error) {
      process.stderr.write(`http/poll: ${url}: ${(error as Error).message}\n`);
    }
  };
  if (!/^https?:\/\//.test(url)) await worker.reportError(`interval is set but url ${JSON.stringify(url)} is not an http(s) URL: not polling`);
  else {
    // one poll at a time; the timer never holds the process open once the worker drained
    const loop = async (): Promise<void> => {
      await poll();
      if (worker.state === 'READY') setTimeout(() => void loop(), every).unref();
    };
    void loop();
  }
}
