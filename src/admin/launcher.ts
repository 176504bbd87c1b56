// Steps 1–4 of docs/workers.md for one process: configuration, package, spawn with the stdin line, validation by the router.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { WorkerAdminError, coded, errorCodeOf, errorMessage, explanationOf, isWorkerAdminError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { RepositoryClient } from '../repository/client.js';
import { resolveConfig, type ResolvedConfig } from '../repository/config.js';
import { mergeKeys } from '../repository/keys.js';
import type { Pivot } from '../repository/pivot.js';
import type { RouterEventListener, RouterLink } from './router-link.js';
import type { TlsOptions } from '../sdk/types.js';
import type { PackageProvider, SpawnedWorker, WorkerSpawner } from './ports.js';
import type { VersionConfigurations } from './version-configuration.js';
import { pythonEnv } from './python-runtime.js';
import type { VersionCatalog } from './version-catalog.js';

/** What to start: one version of a product under an identifier. */
export interface LaunchSpec {
  identifier: string;
  type: string;
  product: string;
  version: string;
  params: Record<string, unknown>;
  /** Values from the admin config for this connector (empty for unlisted products). */
  config: Record<string, unknown>;
  runAs: string | undefined;
  /** It starts beside a worker still serving (a rolling update): low CPU priority until READY (docs/architecture.md). */
  beside?: boolean;
}

interface LauncherDeps {
  link: RouterLink;
  /** The admin's listeners for router verdicts on starts. */
  verdicts: VerdictListeners;
  /** The admin's parsed version configurations. */
  configurations: VersionConfigurations;
  repository: RepositoryClient;
  catalog: VersionCatalog;
  packages: PackageProvider;
  spawner: WorkerSpawner;
  logger: Logger;
  routerTarget: string;
  startTimeoutMs: number;
  killTimeoutMs: number;
  /**
   * TLS to the router (PEM text), given to workers on stdin, never as a path: the CA, and with mutual TLS the admin's
   * client certificate and key (TLS only opens the transport; a worker's identity is its one-time token).
   */
  tls?: TlsOptions | undefined;
  /** The connector's `python:` setting, for Python packages; undefined: the admin finds a Python with grpcio. */
  pythonFor?: (type: string, product: string) => string | undefined;
}

/** A worker that the router validated: READY. */
export interface LaunchedWorker {
  worker: SpawnedWorker;
  pivot: Pivot;
  config: ResolvedConfig;
  /** Of the package it runs. */
  sha256: string;
  /** Of its one-time token: names its stream on the router (DrainWorker drains that stream only). */
  tokenSha256: string;
}

/** Why a start failed, as a code and its explanation (START_TIMEOUT, COMMANDS_MISSING: X…). */
interface Verdict { code: ErrorCode; explanation: string }

/** A start that failed at one stage; `reason` (`CODE: explanation`) is what the reply and the events say. */
export class LaunchError extends WorkerAdminError {
  constructor(code: ErrorCode, explanation: string, readonly stage: 'config' | 'package' | 'spawn' | 'validation', cause?: unknown) {
    super(code, explanation, cause === undefined ? {} : { cause });
  }

  get reason(): string {
    return coded(this.code, this.message);
  }
}

/** Runs the four steps; resolves once the router accepted the worker's Hello, else stops it and throws LaunchError. */
export async function launchWorker(spec: LaunchSpec, deps: LauncherDeps): Promise<LaunchedWorker> {
  const { pivot, config } = await configure(spec, deps);
  const pkg = await preparePackage(spec, deps);
  const token = randomBytes(32).toString('base64url');
  const tokenSha256 = createHash('sha256').update(token).digest('hex');
  await deps.link.rpc.expectWorker({
    identifier: spec.identifier, version: spec.version, type: spec.type, product: spec.product,
    token_sha256: tokenSha256,
    commands: pivot.commands.map((c) => c.name),
    command_schemas: Object.fromEntries(pivot.commands.map((c) => [c.name, JSON.stringify(c.schema)])),
    events: pivot.events.map((e) => e.name),
    event_schemas: Object.fromEntries(pivot.events.map((e) => [e.name, JSON.stringify(e.schema)])),
    ttl_ms: deps.startTimeoutMs + 5_000,
  });
  const verdict = waitForVerdict(spec, deps);
  const mjs = pkg.entry === 'worker.mjs';
  const line = {
    identifier: spec.identifier, target: deps.routerTarget, token, type: spec.type, product: spec.product,
    version: spec.version, config, ...(deps.tls ? { tls: workerTls(deps.tls) } : {}),
  };
  const env = mjs ? undefined : await pythonEnv(pkg.dir, deps.pythonFor?.(spec.type, spec.product));
  let worker: SpawnedWorker;
  try {
    worker = await deps.spawner.spawn({
      identifier: spec.identifier, version: spec.version,
      command: mjs ? process.execPath : join(pkg.dir, 'worker'),
      args: [...(mjs ? [join(pkg.dir, 'worker.mjs')] : []), '--identifier', spec.identifier, '--target', deps.routerTarget],
      cwd: pkg.dir, stdinLine: JSON.stringify(line), runAs: spec.runAs, ...(env ? { env } : {}),
      ...(spec.beside ? { lowPriorityUntilReady: true } : {}),
    });
  } catch (error) {
    verdict.cancel();
    throw new LaunchError('SPAWN_FAILED', errorMessage(error), 'spawn', error);
  }
  const exited = worker.exited.then((exit): Verdict => ({
    code: 'WORKER_EXITED', explanation: `the worker exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`} before it was READY${exit.lastStderr ? ` (stderr: ${exit.lastStderr})` : ''}`,
  }));
  const outcome = await Promise.race([verdict.promise, exited]);
  verdict.cancel();
  worker.restorePriority?.();
  if (outcome !== 'READY') {
    await deps.spawner.stop(worker, deps.killTimeoutMs);
    throw new LaunchError(outcome.code, outcome.explanation, 'validation');
  }
  return { worker, pivot, config, sha256: pkg.sha256, tokenSha256 };
}

/** What a worker gets of the admin's TLS: the CA; cert and key only as a pair (mutual TLS). */
function workerTls(tls: TlsOptions): TlsOptions {
  return { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}) };
}

async function configure(spec: LaunchSpec, deps: LauncherDeps): Promise<{ pivot: Pivot; config: ResolvedConfig }> {
  let layers;
  let pivot: Pivot;
  try {
    ({ layers, pivot } = await deps.configurations.load(spec, { rpc: deps.link.rpc, repository: deps.repository, logger: deps.logger }));
  } catch (error) {
    throw new LaunchError('CONFIG_INVALID', errorMessage(error), 'config', error);
  }
  try {
    return { pivot, config: resolveConfig(mergeKeys(layers), { params: spec.params, config: spec.config }) };
  } catch (error) {
    throw new LaunchError('CONFIG_INVALID', errorMessage(error), 'config', error);
  }
}

async function preparePackage(spec: LaunchSpec, deps: LauncherDeps) {
  try {
    return await deps.packages.ensure({ type: spec.type, product: spec.product, version: spec.version, sha256: await listedSha256(spec, deps) });
  } catch (error) {
    throw new LaunchError('PACKAGE_REJECTED', errorMessage(error), 'package', error);
  }
}

/**
 * The checksum versions.yaml lists for the version. A repository that cannot be reached gives none: the cache
 * then serves only a package it already verified (zip against its marker, folder against its manifest), so a
 * crashed worker restarts while the repository is down (a package not cached still needs the repository).
 */
async function listedSha256(spec: LaunchSpec, deps: LauncherDeps): Promise<string | undefined> {
  try {
    // a yanked version is still found (in yanked.yaml); an unsigned one is refused here, before any download
    return (await deps.catalog.entry(spec.type, spec.product, spec.version)).entry.sha256;
  } catch (error) {
    if (!isWorkerAdminError(error, 'REPOSITORY_ERROR')) throw error;
    deps.logger.warn({ identifier: spec.identifier, version: spec.version, err: errorMessage(error) }, 'repository unreachable: starting from the cached package');
    return undefined;
  }
}

/** The router's refusal of a Hello (WORKER_VERIFY_ERROR `reason`, `detail`) as a code and an explanation. */
function refusalVerdict(payload: Record<string, unknown>): Verdict {
  const reason = typeof payload['reason'] === 'string' ? payload['reason'] : '';
  const detail = typeof payload['detail'] === 'string' && payload['detail'] !== '' ? payload['detail'] : 'the router refused its Hello';
  const code = errorCodeOf(reason);
  if (code === undefined) return { code: 'ROUTER_ERROR', explanation: `the router refused its Hello: ${reason || detail}` };
  // A bare code (BAD_TOKEN) gets the router's detail as its explanation; `COMMANDS_MISSING: X` keeps its own.
  return { code, explanation: reason === code ? detail : explanationOf(reason) };
}

/** Waits for the router's verdict on this identifier@version: READY, a refusal, or START_TIMEOUT. */
function waitForVerdict(spec: LaunchSpec, deps: LauncherDeps): { promise: Promise<'READY' | Verdict>; cancel(): void } {
  let off = (): void => {};
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'READY' | Verdict>((resolve) => {
    off = deps.verdicts.add(spec.identifier, (event, payload) => {
      if (payload['version'] !== spec.version) return;
      if (event.event === 'WORKER_REGISTERED') resolve('READY');
      else if (event.event === 'WORKER_VERIFY_ERROR') resolve(refusalVerdict(payload));
    });
    timer = setTimeout(() => resolve({ code: 'START_TIMEOUT', explanation: `no valid Hello within ${deps.startTimeoutMs} ms` }), deps.startTimeoutMs);
  });
  return { promise, cancel: () => { off(); clearTimeout(timer); } };
}

/**
 * Pending starts' listeners by identifier, behind one router-event listener on the link (one listener per start made
 * each router event of a 200-start burst call 200 listeners: O(n²) per burst). One per admin, made with its link.
 */
export class VerdictListeners {
  private readonly waiting = new Map<string, Set<RouterEventListener>>();
  private readonly off: () => void;

  constructor(link: Pick<RouterLink, 'onRouterEvent'>) {
    this.off = link.onRouterEvent((event, payload) => {
      const identifier = payload['identifier'];
      if (typeof identifier !== 'string') return;
      for (const listener of this.waiting.get(identifier) ?? []) listener(event, payload);
    });
  }

  /** Listens to router events about `identifier`; returns the unsubscribe function. */
  add(identifier: string, listener: RouterEventListener): () => void {
    const set = this.waiting.get(identifier) ?? new Set<RouterEventListener>();
    this.waiting.set(identifier, set.add(listener));
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.waiting.get(identifier) === set) this.waiting.delete(identifier);
    };
  }

  /** Stops listening to the link. */
  close(): void {
    this.off();
    this.waiting.clear();
  }
}
