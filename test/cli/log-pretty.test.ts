// Human log lines for `up` in a terminal: the formatter, the format choice, redaction kept, and `up` with each format.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { escapeControls, formatLogLine, logFormat, prettyDestination } from '../../src/common/log-pretty.js';
import { ROOT } from '../helpers/stack.js';
import { testEnv } from '../helpers/env.js';

const BIN = join(ROOT, 'bin/worker-admin.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T = Date.UTC(2026, 10, 23, 7, 5, 9, 42);
const clock = (ms: number): string => {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger('worker-admin', { level: 'debug', destination: prettyDestination({ write: (t: string) => lines.push(t) }) });
  return { lines, logger };
}

describe('formatLogLine', () => {
  it('prints time, level, component, message, then the other fields as key=value', () => {
    const line = JSON.stringify({ level: 30, time: T, pid: 7, name: 'worker-admin', component: 'admin', identifier: 'utils-echo-1', version: '1.1', restarts: 0, ok: true, reason: null, msg: 'worker ready' });
    expect(formatLogLine(line)).toBe(`${clock(T)} INFO  admin worker ready identifier=utils-echo-1 version=1.1 restarts=0 ok=true reason=null\n`);
  });

  it('quotes strings with spaces or quotes, writes objects as JSON, falls back to the logger name without a component', () => {
    const line = JSON.stringify({ level: 40, time: T, name: 'worker-admin', err: 'spawn "x" failed', path: 'a b', versions: ['1.0', '1.1'], empty: '', msg: 'hm' });
    expect(formatLogLine(line)).toBe(`${clock(T)} WARN  worker-admin hm err="spawn \\"x\\" failed" path="a b" versions=["1.0","1.1"] empty=""\n`);
  });

  it('keeps one line per record and never passes terminal escapes through', () => {
    const out = formatLogLine(JSON.stringify({ level: 50, time: T, msg: 'line one\nline two \u001b[2J', text: 'x\u001b]0;title\u0007', [`k\ney`]: 1 }));
    expect(out.slice(0, -1)).not.toMatch(/[\n\u001b\u0007]/);
    expect(out).toContain('ERROR line one\\nline two \\u001b[2J');
    expect(out).toContain('text="x\\u001b]0;title\\u0007"');
    expect(escapeControls('a\u202eb\u009bc')).toBe('a\\u202eb\\u009bc');
  });

  it('colors only the level when asked, and passes a line that is not a JSON object through', () => {
    expect(formatLogLine(JSON.stringify({ level: 50, time: T, msg: 'bad' }), { color: true })).toBe(`${clock(T)} \u001b[31mERROR\u001b[39m bad\n`);
    expect(formatLogLine('plain text')).toBe('plain text\n');
    expect(formatLogLine('[1,2]\n')).toBe('[1,2]\n');
  });
});

describe('pretty logger', () => {
  it('formats after redaction: tokens, secrets and config values stay [redacted]', () => {
    const { lines, logger } = capture();
    const secret = 'sk-live-MUST-NOT-LEAK-4242';
    logger.child({ component: 'admin' }).info({ token: secret, adminToken: secret, config: { api_key: secret }, params: { x: secret }, tls: { key: secret }, who: 'me' }, 'starting');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}admin starting token=\[redacted\] adminToken=\[redacted\] config=\{"api_key":"\[redacted\]"\} params=\{"x":"\[redacted\]"\} tls=\{"key":"\[redacted\]"\} who=me\n$/);
  });
});

describe('logFormat (WORKER_ADMIN_LOG_FORMAT)', () => {
  it('is pretty on a terminal and JSON elsewhere unless the variable says which; anything else is refused', () => {
    expect(logFormat({}, true)).toBe('pretty');
    expect(logFormat({}, false)).toBe('json');
    expect(logFormat({ WORKER_ADMIN_LOG_FORMAT: '' }, false)).toBe('json');
    expect(logFormat({ WORKER_ADMIN_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormat({ WORKER_ADMIN_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(() => logFormat({ WORKER_ADMIN_LOG_FORMAT: 'yaml' }, true)).toThrow(/WORKER_ADMIN_LOG_FORMAT: must be json or pretty, not "yaml"/);
  });
});

describe('worker-admin up log format', () => {
  function setUp(): { dir: string; config: string; src: string } {
    const dir = mkdtempSync(join(tmpdir(), 'wa-uplog-'));
    dirs.push(dir);
    const config = join(dir, 'admin.yaml');
    writeFileSync(config, 'stateDir: state\nrouter: { address: "unix:state/router.sock" }\nops: { listen: "127.0.0.1:0" }\nconnectors: []\n');
    const src = join(dir, 'connectors');
    mkdirSync(join(src, 'utils/plain/1/0/worker'), { recursive: true });
    writeFileSync(join(src, 'utils/plain/1/0/worker/worker.mjs'), "console.log('plain');\n");
    return { dir, config, src };
  }

  it('refuses an unknown WORKER_ADMIN_LOG_FORMAT before starting anything (exit 2)', () => {
    const { config, src } = setUp();
    const r = spawnSync(process.execPath, [BIN, 'up', '--config', config, '--connectors', src], {
      env: testEnv({ WORKER_ADMIN_LOG_FORMAT: 'fancy' }), encoding: 'utf8', timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('WORKER_ADMIN_LOG_FORMAT: must be json or pretty, not "fancy"');
  });

  for (const format of ['pretty', 'json', ''] as const) {
    it(`logs ${format === 'pretty' ? 'human lines' : 'JSON lines'} on a pipe with WORKER_ADMIN_LOG_FORMAT=${JSON.stringify(format)}`, async () => {
      const { config, src } = setUp();
      const child = spawn(process.execPath, [BIN, 'up', '--config', config, '--connectors', src], {
        env: testEnv({ WORKER_ADMIN_LOG_LEVEL: 'info', WORKER_ADMIN_LOG_FORMAT: format }), stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      let err = '';
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready:') && !child.killed) child.kill('SIGTERM'); // once: a second SIGTERM is not drained
      });
      const code = await new Promise((resolve) => child.once('close', (c, signal) => resolve(c ?? signal)));
      expect(code, `${out}\n${err}`).toBe(0);
      const line = err.split('\n').find((l) => l.includes('connectors packed'))!;
      if (format === 'pretty') {
        expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}worker-admin connectors packed src=\S+ packed=\["utils\/plain@1\.0"\] unchanged=\[\]$/);
        expect(err).not.toContain('{"level"');
      } else {
        expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'connectors packed', packed: ['utils/plain@1.0'] });
      }
    });
  }
});
