import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { LogRuns, WorkerLog, configForLog, logFilePath } from '../../src/process/logs.js';
import { Janitor, runFixture } from './helpers.js';

const janitor = new Janitor();
const dirs: string[] = [];
afterEach(() => {
  janitor.cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const TOKEN = 'stdin-token-that-must-not-be-logged-0123456789';

/** A pino logger writing JSON records into an array. */
function memoryLogger() {
  const records: Array<Record<string, unknown>> = [];
  const logger = createLogger('admin', { level: 'info', destination: { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) } });
  return { logger, records, text: () => records.map((r) => JSON.stringify(r)).join('\n') };
}

/** Runs stderr.mjs with a token on stdin, its output through a WorkerLog. */
async function runLogged(stateDir: string, mode: 'development' | 'production', logger?: ReturnType<typeof memoryLogger>['logger']) {
  const log = WorkerLog.openSync({ stateDir, identifier: 'utils-echo-1', version: '1.2', mode, ...(logger ? { logger } : {}) });
  const run = await runFixture(janitor, 'stderr.mjs', { lines: 2, token: TOKEN }, { onLine: (stream, line) => log.line(stream, line) });
  await run.child.exited;
  await run.child.outputClosed;
  return log;
}

describe('worker logs', () => {
  it('sends each line to pino tagged {identifier, version, stream} and to {stateDir}/logs/{identifier}.{n}.log', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-'));
    dirs.push(stateDir);
    const { logger, records } = memoryLogger();
    const log = await runLogged(stateDir, 'development', logger);
    expect(log.path).toBe(logFilePath(stateDir, 'utils-echo-1', 1));
    // INFO for both streams (WARN is for the admin's own warnings), tagged with the worker.
    expect(records.map((r) => [r['worker'], r['identifier'], r['version'], r['stream'], r['msg'], r['level']]).sort()).toEqual([
      ['utils-echo-1@1.2', 'utils-echo-1', '1.2', 'stdout', 'out 1', 30],
      ['utils-echo-1@1.2', 'utils-echo-1', '1.2', 'stderr', 'err 1', 30],
      ['utils-echo-1@1.2', 'utils-echo-1', '1.2', 'stdout', 'out 2', 30],
      ['utils-echo-1@1.2', 'utils-echo-1', '1.2', 'stderr', 'err 2', 30],
      ['utils-echo-1@1.2', 'utils-echo-1', '1.2', 'stderr', 'no newline at the end', 30],
    ].sort() as never);
    await log.close();
    const file = readFileSync(log.path, 'utf8');
    const [header, ...lines] = file.trim().split('\n');
    expect(header).toBe('# worker-admin identifier=utils-echo-1 version=1.2 run=1');
    expect(lines.map((l) => l.replace(/^\S+ /, '')).sort()).toEqual(['stderr err 1', 'stderr err 2', 'stderr no newline at the end', 'stdout out 1', 'stdout out 2']);
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
  });

  it('development keeps each run\'s file and numbers runs; production removes the file after the run', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-'));
    dirs.push(stateDir);
    const first = await runLogged(stateDir, 'development');
    await first.close();
    const second = await runLogged(stateDir, 'development');
    await second.close();
    expect([first.run, second.run]).toEqual([1, 2]);
    expect(readdirSync(join(stateDir, 'logs')).sort()).toEqual(['utils-echo-1.1.log', 'utils-echo-1.2.log']);

    const third = await runLogged(stateDir, 'production');
    expect(third.run).toBe(3);
    // written while it runs (the file stream writes asynchronously: a loaded machine may lag a little)
    await expect.poll(() => readFileSync(third.path, 'utf8'), { timeout: 15_000 }).toContain('out 1');
    await third.close();
    await third.close(); // idempotent
    expect(existsSync(third.path)).toBe(false);
  });

  it('two runs of one identifier at once (rolling update) get separate files', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-'));
    dirs.push(stateDir);
    const a = WorkerLog.openSync({ stateDir, identifier: 'x', version: '1.0', mode: 'development' });
    const b = WorkerLog.openSync({ stateDir, identifier: 'x', version: '1.1', mode: 'development' });
    expect(a.path).not.toBe(b.path);
    return Promise.all([a.close(), b.close()]);
  });

  it('numbers on from the files present, never reuses a number of one admin\'s runs, and never takes a file made meanwhile', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-'));
    dirs.push(stateDir);
    mkdirSync(join(stateDir, 'logs'));
    writeFileSync(logFilePath(stateDir, 'x', 7), 'an earlier admin run\n');
    writeFileSync(logFilePath(stateDir, 'x.y', 12), 'another identifier\n');
    const runs = new LogRuns(stateDir);
    const open = (mode: 'development' | 'production') => WorkerLog.openSync({ stateDir, identifier: 'x', version: '1.0', mode, runs });
    const first = open('production');
    expect(first.run).toBe(8);
    await first.close(); // production: its file is gone, its number stays used
    expect(existsSync(first.path)).toBe(false);
    const second = open('development');
    expect(second.run).toBe(9);
    writeFileSync(logFilePath(stateDir, 'x', 10), 'made behind the admin\'s back\n');
    const third = open('development');
    expect(third.run).toBe(11);
    expect(readFileSync(logFilePath(stateDir, 'x', 10), 'utf8')).toBe('made behind the admin\'s back\n');
    const other = WorkerLog.openSync({ stateDir, identifier: 'x.y', version: '1.0', mode: 'development', runs });
    expect(other.run).toBe(13);
    // Another admin's runs start from the folder as it is now (its 8 is gone with the production file).
    const elsewhere = WorkerLog.openSync({ stateDir, identifier: 'x', version: '1.0', mode: 'development', runs: new LogRuns(stateDir) });
    expect(elsewhere.run).toBe(12);
    await elsewhere.close();
    await Promise.all([second.close(), third.close(), other.close()]);
  });

  it('no secret reaches the admin log: stdin is never logged, config is logged by key names', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-'));
    dirs.push(stateDir);
    const { logger, text } = memoryLogger();
    const log = await runLogged(stateDir, 'development', logger);
    await log.close();
    const config = { smtp_password: TOKEN, greeting: 'hello' };
    logger.info({ identifier: 'utils-echo-1', ...configForLog(config) }, 'starting worker');
    logger.info({ config }, 'a careless caller'); // the logger's redaction still hides values
    expect(text()).not.toContain(TOKEN);
    expect(readFileSync(log.path, 'utf8')).not.toContain(TOKEN);
    expect(text()).toContain('"configKeys":["greeting","smtp_password"]');
  });

  it('refuses an identifier that could escape the logs folder', () => {
    expect(() => WorkerLog.openSync({ stateDir: tmpdir(), identifier: '../etc', version: '1.0', mode: 'development' })).toThrowError(/identifier "..\/etc" is invalid/);
  });
});
