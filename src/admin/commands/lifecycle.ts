// ADMIN_GET_WORKER, ADMIN_START_WORKER, ADMIN_STOP_WORKER, ADMIN_GET_LAST_VERSION_WORKER, ADMIN_LIST_WORKERS, ADMIN_STOP_ALL_WORKERS.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkerAdminError } from '../../common/errors.js';
import { assertIdentifier, defaultIdentifier, productKey } from '../../common/names.js';
import { resolveProduct } from '../payloads.js';
import { assertNotFleetManaged, connectorOf, type AdminContext, type Handler } from './context.js';
import { defaultRange, pickVersion } from './versions.js';

const connectorsOf = (ctx: AdminContext) => ctx.config.connectors;

/** Steps 1–2 for one version: configuration into the store, package fetched, verified and cached. */
async function fetchVersion(ctx: AdminContext, ref: { type: string; product: string }, version: string, sha256: string | undefined) {
  await ctx.configurations.load({ ...ref, version }, { rpc: ctx.link.rpc, repository: ctx.repository, logger: ctx.logger });
  return ctx.packages.ensure({ ...ref, version, sha256 });
}

/** ADMIN_GET_WORKER {product?, version} → {product, version, sha256}. */
export const getWorker: Handler = async (payload, ctx) => {
  const ref = resolveProduct(payload['product'], connectorsOf(ctx));
  const picked = await pickVersion(ctx, ref, String(payload['version']));
  const pkg = await fetchVersion(ctx, ref, picked.version, picked.sha256);
  return { product: productKey(ref), version: picked.version, sha256: pkg.sha256 };
};

/** ADMIN_GET_LAST_VERSION_WORKER {product?, range?} → {product, version}, fetched. */
export const getLastVersionWorker: Handler = async (payload, ctx) => {
  const ref = resolveProduct(payload['product'], connectorsOf(ctx));
  const range = typeof payload['range'] === 'string' ? payload['range'] : defaultRange(connectorOf(ctx, ref));
  const picked = await pickVersion(ctx, ref, range);
  await fetchVersion(ctx, ref, picked.version, picked.sha256);
  return { product: productKey(ref), version: picked.version };
};

/** ADMIN_START_WORKER {product?, version?, identifier?, params?} → {identifier, version, pid, alreadyRunning}. */
export const startWorker: Handler = async (payload, ctx) => {
  const ref = resolveProduct(payload['product'], connectorsOf(ctx));
  assertNotFleetManaged(ctx, ref, 'ADMIN_START_WORKER');
  const connector = connectorOf(ctx, ref);
  const wanted = typeof payload['version'] === 'string' ? payload['version'] : defaultRange(connector);
  const { version } = await pickVersion(ctx, ref, wanted);
  let identifier: string;
  try {
    identifier = payload['identifier'] === undefined ? defaultIdentifier(ref.type, ref.product, version) : assertIdentifier(payload['identifier']);
  } catch (error) {
    throw new WorkerAdminError('PAYLOAD_INVALID', (error as Error).message);
  }
  const params = (payload['params'] ?? {}) as Record<string, unknown>;
  const { instance, alreadyRunning } = await ctx.registry.start({
    identifier, type: ref.type, product: ref.product, version, params,
    config: connector?.config ?? {}, runAs: connector?.runAs, restart: connector?.restart ?? 'always',
  });
  return { identifier, version: instance.spec.version, pid: instance.worker?.pid ?? null, alreadyRunning };
};

/** ADMIN_STOP_WORKER {product?, version?, identifier?} → {stopped}; none running is SUCCESS. */
export const stopWorker: Handler = async (payload, ctx) => {
  const identifier = payload['identifier'];
  if (identifier !== undefined && typeof identifier !== 'string') throw new WorkerAdminError('PAYLOAD_INVALID', `ADMIN_STOP_WORKER: identifier must be a string, got ${JSON.stringify(identifier)}`);
  const ref = payload['product'] !== undefined || identifier === undefined ? resolveProduct(payload['product'], connectorsOf(ctx)) : undefined;
  const named = ref ?? ctx.registry.get(identifier as string)?.spec;
  if (named) assertNotFleetManaged(ctx, named, 'ADMIN_STOP_WORKER');
  const stopped = await ctx.registry.stop({
    ...(identifier !== undefined ? { identifier } : {}),
    ...(ref ? { type: ref.type, product: ref.product } : {}),
    ...(typeof payload['version'] === 'string' ? { version: payload['version'] } : {}),
  });
  return { stopped };
};

/** ADMIN_LIST_WORKERS {} → {workers}. */
export const listWorkers: Handler = async (_payload, ctx) => {
  // yanked or removed versions say so; an unreachable repository delays the list by at most 2 s (the last notes are shown)
  const refreshed = ctx.catalog.refresh(ctx.registry.all().filter((i) => i.live).map((i) => i.spec));
  await Promise.race([refreshed, sleep(2_000, undefined, { ref: false })]);
  return { workers: ctx.registry.statuses() };
};

/** ADMIN_STOP_ALL_WORKERS {} → {stopped}: Area's KillAllJobs. */
export const stopAllWorkers: Handler = async (_payload, ctx) => ({ stopped: await ctx.registry.stop({}) });
