// One run of a policy: its command with `scope` as payload, sent through the router to the policy's instance.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/credentials.js';
import { errorMessage } from '../../common/errors.js';
import type { Reply } from '../../proto/types.js';
import { parseJsonOrNull } from '../../sdk/messages.js';
import type { PolicyRun, PolicySpec } from './policy.js';

/** What a run needs: a way to send a command, the clock for `at`, where dry-run replies go. */
export interface RunnerDeps {
  /** `uuid` given: the router replays a command it already ran with that uuid (a fleet tick sent again). */
  send(command: { command: string; payload: string; target: string; timeout_ms: number; uuid?: string }): Promise<Reply>;
  now(): number;
  commandTimeoutMs: number;
  /** `{dryRunDir}`: a dry-run policy's replies go to `{dryRunDir}/{policy}/`. */
  dryRunDir: string;
}

/**
 * Sends the policy's command once (with `uuid` when given: a fleet tick's) and says how it went; a dry-run policy's
 * reply is also written as a JSON file.
 */
export async function runPolicy(spec: PolicySpec, deps: RunnerDeps, uuid?: string): Promise<{ run: PolicyRun; file?: string }> {
  const at = new Date(deps.now()).toISOString();
  const started = performance.now();
  let reply: Reply | undefined;
  let failure: string | undefined;
  try {
    reply = await deps.send({ command: spec.command, payload: JSON.stringify(spec.scope), target: spec.name, timeout_ms: deps.commandTimeoutMs, ...(uuid ? { uuid } : {}) });
  } catch (error) {
    failure = errorMessage(error);
  }
  const durationMs = Math.round(performance.now() - started);
  const error = failure ?? (reply?.error || undefined);
  const run: PolicyRun = { at, status: reply?.status ?? 'ERROR', durationMs, ...(error ? { error } : {}), ...(uuid ? { uuid } : {}) };
  if (!spec.dryRun) return { run };
  const file = await writeDryRun(spec, run, reply, deps.dryRunDir);
  return { run, file };
}

/** `{dryRunDir}/{policy}/{time}-{id}.json`: one file per reply, written whole (temp file, then rename). */
async function writeDryRun(spec: PolicySpec, run: PolicyRun, reply: Reply | undefined, dryRunDir: string): Promise<string> {
  const stamp = run.at.replace(/[:.]/g, '-');
  const file = join(dryRunDir, spec.name, `${stamp}-${randomUUID().slice(0, 8)}.json`);
  const body = {
    policy: spec.name, command: spec.command, scope: spec.scope, at: run.at, status: run.status, duration_ms: run.durationMs,
    worker: reply?.worker ?? null, payload: reply ? parseJsonOrNull(reply.payload) : null, error: run.error ?? null,
  };
  await writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`, 0o600);
  return file;
}
