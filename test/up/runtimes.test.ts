// `up` with Python and TypeScript connectors configured: without a usable Python the Python connector is skipped
// (logged with the reason) and the others start; with one, all start.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { startStack, type RunningStack } from '../../src/up/stack.js';
import { ROOT } from '../helpers/stack.js';
import { PYTHON, SKIP_REASON } from '../python/harness.js';

let stack: RunningStack | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function up(pythonProblem?: () => Promise<string | undefined>): Promise<{ stack: RunningStack; logs: () => string }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-rt-'));
  const src = mkdtempSync(join(tmpdir(), 'wa-rt-src-'));
  dirs.push(stateDir, src);
  for (const d of ['utils', 'mail']) cpSync(join(ROOT, 'connectors', d), join(src, d), { recursive: true });
  const config = parseAdminConfigObject({
    stateDir, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' },
    timeouts: { start: '20s', drain: '5s', kill: '2s' },
    connectors: [
      { type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' } },
      { type: 'mail', product: 'smtp', versions: ['^1'], config: { host: '127.0.0.1', port: 2525 } },
    ],
  }, { file: '<test>', env: {} });
  let text = '';
  const logger = createLogger('up', { level: 'info', destination: new Writable({ write(c, _e, done) { text += String(c); done(); } }) });
  stack = await startStack({ config, logger, connectorsDir: src, ...(pythonProblem ? { pythonProblem } : {}) });
  return { stack, logs: () => text };
}

const running = (s: RunningStack): string[] => s.admin.registry.statuses().filter((w) => w.state === 'READY').map((w) => w.product).sort();

describe('up and connector runtimes', () => {
  it('skips a Python connector when no Python can run it, says why, and still runs echo', async () => {
    const { stack: s, logs } = await up(async () => 'no python3 can import grpc and protobuf (python3: No module named \'grpc\'): apt-get install python3-grpcio python3-protobuf');
    expect(s.skipped).toEqual([{ product: 'mail/smtp', reason: expect.stringMatching(/^Python connector: no python3 can import grpc .*apt-get install python3-grpcio/) }]);
    expect(running(s)).toEqual(['utils/echo']);
    expect(logs()).toMatch(/"product":"mail\/smtp".*"msg":"connector skipped"/);
  }, 60_000);

  it.skipIf(!PYTHON)(`starts the Python connector beside echo when a Python with grpcio is here${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, async () => {
    const { stack: s } = await up();
    expect(s.skipped).toEqual([]);
    expect(running(s)).toEqual(['mail/smtp', 'utils/echo']);
  }, 60_000);
});
