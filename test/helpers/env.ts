// The environment of every process a test starts: built here from scratch, never the runner's own
// (an ambient WORKER_ADMIN_TOKEN, log level or NODE_OPTIONS must not change what a test sees).
import { homedir } from 'node:os';

/**
 * PATH and HOME of this machine, a fixed locale and time zone, logs silent, then `extra`
 * (a key set to undefined is left out).
 */
export function testEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: homedir(),
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    WORKER_ADMIN_LOG_LEVEL: 'silent',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
