// A whole `up` stack (router + admin + local repository) in its own process, so its RSS is theirs alone.
// Config from BENCH_STACK (JSON: stateDir, connectorsDir[], timeouts, logLevel). Prints one JSON line when up;
// Lines on stdin: `mem` prints process.memoryUsage() as a JSON line, `heapsnapshot PATH` writes a V8 heap snapshot,
// `cpuprofile start` / `cpuprofile stop PATH` record a CPU profile (what `node --cpu-prof` writes, for a window);
// EOF on stdin or SIGTERM drains every worker and exits (the parent dying closes our stdin too).
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const opts = JSON.parse(process.env.BENCH_STACK ?? '{}');
const { parseAdminConfigObject } = await import('../../dist/config/admin-config.js');
const { createLogger } = await import('../../dist/common/log.js');
const { startStack } = await import('../../dist/up/stack.js');

const config = parseAdminConfigObject({
  stateDir: opts.stateDir,
  mode: 'production',
  router: { address: `unix:${join(opts.stateDir, 'router.sock')}` },
  ops: { listen: '127.0.0.1:0' },
  timeouts: { start: '120s', drain: '10s', kill: '2s', ...opts.timeouts },
  connectors: [],
}, { file: '<bench>', env: {} });

const stack = await startStack({
  config,
  connectorsDir: opts.connectorsDir,
  logger: createLogger('bench', { level: opts.logLevel ?? 'error' }),
});

let closing;
const close = () => (closing ??= stack.close().finally(() => process.exit(0)));
const input = createInterface({ input: process.stdin });
let inspector;
input.on('line', async (line) => {
  if (line === 'cpuprofile start') {
    inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
    process.stdout.write(`${JSON.stringify({ profiling: true })}\n`);
  }
  if (line.startsWith('cpuprofile stop ')) {
    const { profile } = await inspector.post('Profiler.stop');
    inspector.disconnect();
    writeFileSync(line.slice(16), JSON.stringify(profile));
    process.stdout.write(`${JSON.stringify({ cpuprofile: line.slice(16) })}\n`);
  }
  if (line === 'mem') process.stdout.write(`${JSON.stringify({ mem: process.memoryUsage() })}\n`);
  if (line.startsWith('heapsnapshot ')) process.stdout.write(`${JSON.stringify({ heapsnapshot: writeHeapSnapshot(line.slice(13)) })}\n`);
});
input.on('close', close);
process.on('SIGTERM', close);
process.on('SIGINT', close);

const { router, credentials } = stack;
process.stdout.write(`${JSON.stringify({ address: router.address, adminToken: credentials.adminToken, clientToken: credentials.clientToken, repository: credentials.repository, pid: process.pid })}\n`);
