// The environment a worker gets: an allow-list, never the admin's own (tokens and ${VAR} secrets live there).

/** The only variables passed to workers. NODE_OPTIONS is never passed: it could load code into every worker. */
export const WORKER_ENV_ALLOW_LIST = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

/** Picks the allow-listed variables of `source` (default: the admin's environment). */
export function workerEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of WORKER_ENV_ALLOW_LIST) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
