// A fleet rolling update against single hosts updating the same instances, same run, same load:
// (a) 3 `up` hosts with a `fleet:` section on one nats-server and one etcd, `fleet apply` of N instances of utils/echo
//     (1.0; 1.1 is published afterwards), then the ADMIN_UPDATE that `worker-admin fleet update utils/echo --version V
//     --max-parallel 5 --min-healthy 0` sends, timed until its reply (as the baseline's commands: the CLI's own start
//     left out);
// (b) 3 `up` hosts without a fleet, N/3 instances each (ADMIN_START_WORKER: admin.yaml names one instance per entry),
//     3 ADMIN_UPDATEs to V sent at once, one per host, timed until all three replied.
// Both sides run at once; their updates alternate (fleet → 1.1, single → 1.1, single → 1.0, fleet → 1.0; quick: one
// each), each under a closed-loop ECHO load through its own three routers: a command with a non-SUCCESS reply is
// failed, one with no reply (a gRPC error) lost. The fleet's per-batch timing comes from its rollout record.
// Run alone: `node bench/fleet-rollout.mjs [--quick]` (needs `npm run build`); skipped with the reason without nats-server/etcd.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from './lib/children.mjs';
import { startPlainHost, warmEcho } from './lib/hosts.mjs';
import { ROOT, isMain } from './lib/paths.mjs';
import { reapRecorded } from './lib/stack.mjs';
import { describeLoad, ECHO_PAYLOAD, pooled, underLoad } from './lib/update-load.mjs';

const HOSTS = ['host-a', 'host-b', 'host-c'];
const PRODUCT = 'utils/echo';
const MAX_PARALLEL = 5;
/** Steady load before the update starts, and after it replied. */
const BEFORE_MS = 2000;
const AFTER_MS = 1000;

const rowNames = (n) => [`fleet rollout ${n} instances over 3 hosts`, 'fleet rollout commands failed or lost'];

/** `worker-admin ARGS` with an environment of its own; resolves {code, stdout, stderr} once it exited. */
function cli(args, children) {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'worker-admin.js'), ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c) => (stdout += c));
  proc.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => proc.once('exit', (code, signal) => {
    children.delete(proc);
    resolve({ code: code ?? signal, stdout: stdout.trim(), stderr: stderr.trim() });
  }));
}

/** The source trees: utils/echo 1.0 alone (the fleet's first repository), 1.1 alone (published later), both (single hosts). */
function sources(dir) {
  const tree = (name, without) => {
    const root = join(dir, name);
    cpSync(join(ROOT, 'connectors', 'utils'), join(root, 'utils'), { recursive: true });
    if (without) rmSync(join(root, 'utils', 'echo', '1', without), { recursive: true, force: true });
    return root;
  };
  return { only10: tree('src-1.0', '1'), only11: tree('src-1.1', '0'), both: tree('src-utils') };
}

/** The fleet as one host's ops page shows it (GET /api/v1/fleet); undefined when it does not answer. */
async function fleetView(ops) {
  try {
    return await (await fetch(`http://${ops}/api/v1/fleet`, { signal: AbortSignal.timeout(5000) })).json();
  } catch {
    return undefined;
  }
}

/** READY utils/echo instances on live hosts: {total: {version: n}, perHost: {host: n}}. */
function readyEcho(view) {
  const total = {};
  const perHost = {};
  for (const h of view?.hosts ?? []) {
    if (h.status !== 'live') continue;
    for (const i of h.instances) {
      if (i.product !== PRODUCT || i.state !== 'READY') continue;
      total[i.version] = (total[i.version] ?? 0) + 1;
      perHost[h.name] = (perHost[h.name] ?? 0) + 1;
    }
  }
  return { total, perHost };
}

async function until(probe, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench fleet-rollout: not within ${ms / 1000} s: ${what}`);
    await sleep(250);
  }
}

/** Per batch of a rollout record: seconds from its first move to its last instance seen READY, and the gap before it. */
function batchTimes(record) {
  let previousEnd;
  return record.batches.map((ids) => {
    const instances = ids.map((id) => record.instances[id]).filter(Boolean);
    const start = Math.min(...instances.map((i) => i.movedAt ?? Infinity));
    const end = Math.max(...instances.map((i) => i.readyAt ?? -Infinity));
    const gap = previousEnd === undefined ? null : (start - previousEnd) / 1000;
    previousEnd = end;
    return { size: ids.length, seconds: (end - start) / 1000, gap };
  });
}

/**
 * Side (a): the fleet, `n` instances of 1.0 READY, 1.1 published. `update(version)` sends host-a's router the
 * ADMIN_UPDATE that `fleet update utils/echo --version V --max-parallel 5 --min-healthy 0` sends, and resolves {at, ms
 * (until its reply), record (the rollout record), ready (READY instances by version after it), error}.
 */
async function startFleetSide({ dir, n, tokens, nats, etcd, trees, children, rpcs, stops }) {
  const { startLocalFleet } = await import('../dist/fleet/demo/local-fleet.js');
  const { packRepository } = await import('../dist/packages/pack/pack.js');
  const { createRouterRpc } = await import('../dist/sdk/rpc.js');
  const repositoryDir = join(dir, 'repository');
  await packRepository({ src: trees.only10, out: repositoryDir });
  const fleet = await startLocalFleet({
    dir: join(dir, 'fleet'), repositoryDir, tokens, engines: { nats, etcd }, leaseTtl: '10s', reassignAfter: '60s',
    env: { WORKER_ADMIN_LOG_LEVEL: 'warn' }, hosts: HOSTS.map((name) => ({ name })),
  });
  stops.push(async () => {
    await fleet.close();
    for (const h of fleet.hosts) reapRecorded(h.stateDir);
  });
  const via = fleet.host('host-a');
  const desired = join(dir, 'desired.yaml');
  writeFileSync(desired, `connectors:\n  - { type: utils, product: echo, versions: ["^1"], instances: ${n}, config: { greeting: hello } }\n`);
  const applied = await cli(['fleet', 'apply', desired, '--state-dir', via.stateDir], children);
  if (applied.code !== 0) throw new Error(`bench fleet-rollout: fleet apply exited ${applied.code}: ${applied.stderr}`);
  let spread;
  await until(async () => {
    const ready = readyEcho(await fleetView(via.ops));
    spread = Object.values(ready.perHost).join('/');
    return ready.total['1.0'] === n;
  }, 600_000, `${n} instances READY on 1.0`);
  await packRepository({ src: trees.only11, out: repositoryDir });
  const clients = fleet.hosts.map((h) => createRouterRpc({ address: h.router, token: tokens.client }));
  rpcs.push(...clients);
  for (const [i, c] of clients.entries()) await warmEcho(c, `fleet ${HOSTS[i]}`, ECHO_PAYLOAD);
  const admin = createRouterRpc({ address: via.router, token: tokens.admin });
  rpcs.push(admin);
  return {
    clients, spread,
    async update(version) {
      const at = Date.now();
      const t = performance.now();
      const reply = await admin.sendCommand({ command: 'ADMIN_UPDATE', payload: JSON.stringify({ product: PRODUCT, version, maxParallel: MAX_PARALLEL, minHealthy: 0 }), timeout_ms: 600_000 });
      const ms = performance.now() - t;
      let view;
      // the hosts' records (what the page lists) follow their reports within a moment
      await until(async () => readyEcho(view = await fleetView(via.ops)).total[version] === n, 10_000, '').catch(() => undefined);
      const record = view?.rollouts?.find((r) => r.product === PRODUCT && r.to === version);
      const ready = readyEcho(view).total;
      const ok = reply.status === 'SUCCESS' && ready[version] === n;
      return { at, ms, record, ready, error: ok ? undefined : `fleet ADMIN_UPDATE to ${version}: ${reply.status} ${reply.error}, READY after it: ${JSON.stringify(ready)}` };
    },
  };
}

/**
 * Side (b): three hosts without a fleet, n/3 instances of 1.0 each. `update(version)` sends the three ADMIN_UPDATEs at
 * once and resolves {ms (until the last reply), each: [ms], error} once all three replied.
 */
async function startSingleSide({ dir, n, tokens, trees, rpcs, stops }) {
  const { createRouterRpc } = await import('../dist/sdk/rpc.js');
  const perHost = n / HOSTS.length;
  const started = await Promise.allSettled(HOSTS.map((name) => startPlainHost({ stateDir: join(dir, 'single', name), tokens, connectorsDir: trees.both })));
  const hosts = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  stops.push(() => Promise.all(hosts.map((h) => h.stop())));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  const admins = hosts.map((h) => createRouterRpc({ address: h.router, token: tokens.admin }));
  const clients = hosts.map((h) => createRouterRpc({ address: h.router, token: tokens.client }));
  rpcs.push(...admins, ...clients);
  // identifiers as the fleet names them, each host its own third
  await Promise.all(admins.flatMap((admin, h) => Array.from({ length: perHost }, async (_, k) => {
    const identifier = `utils-echo-1-${h * perHost + k + 1}`;
    const reply = await admin.sendCommand({
      command: 'ADMIN_START_WORKER', timeout_ms: 300_000,
      payload: JSON.stringify({ product: PRODUCT, version: '1.0', identifier, params: { greeting: 'hello' } }),
    });
    if (reply.status !== 'SUCCESS') throw new Error(`bench fleet-rollout: ADMIN_START_WORKER ${identifier} on ${HOSTS[h]}: ${reply.error}`);
  })));
  for (const [i, c] of clients.entries()) await warmEcho(c, `single ${HOSTS[i]}`, ECHO_PAYLOAD);
  return {
    clients,
    async update(version) {
      const t = performance.now();
      const each = await Promise.all(admins.map(async (admin, h) => {
        const reply = await admin.sendCommand({ command: 'ADMIN_UPDATE', payload: JSON.stringify({ product: PRODUCT, version }), timeout_ms: 600_000 });
        const moved = reply.status === 'SUCCESS' ? JSON.parse(reply.payload).instances.length : 0;
        return { ms: performance.now() - t, error: moved === perHost ? undefined : `${HOSTS[h]}: ADMIN_UPDATE to ${version} ${reply.status} ${reply.error || `moved ${moved} of ${perHost}`}` };
      }));
      const errors = each.map((e) => e.error).filter(Boolean);
      return { ms: performance.now() - t, each: each.map((e) => e.ms), error: errors.length > 0 ? errors.join('; ') : undefined };
    },
  };
}

/** One fleet round from its rollout record: batch times, gaps, and where the rest of the command's time went. */
function fleetRoundNote(outcome) {
  const { record } = outcome;
  if (!record) return `${(outcome.ms / 1000).toFixed(1)} s, no rollout record on host-a's ops page`;
  const batches = batchTimes(record);
  const instances = Object.values(record.instances);
  const firstMove = Math.min(...instances.map((i) => i.movedAt ?? Infinity));
  const lastReady = Math.max(...instances.map((i) => i.readyAt ?? -Infinity));
  return `${record.from} → ${record.to} ${(outcome.ms / 1000).toFixed(1)} s, ${record.state}; command → first move ${((firstMove - outcome.at) / 1000).toFixed(2)} s, `
    + `${batches.length} batches of ≤ ${record.maxParallel} (first move → last READY seen, s) ${batches.map((b) => b.seconds.toFixed(1)).join(', ')}, `
    + `gaps ${batches.slice(1).map((b) => b.gap.toFixed(2)).join(', ') || '-'} s; last READY seen → reply ${((outcome.at + outcome.ms - lastReady) / 1000).toFixed(2)} s`;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Rows {name, value, unit, baseline, ratio, goal, met, note}. */
export async function runFleetRolloutBench({ quick = false } = {}) {
  const n = quick ? 6 : 30;
  const lanes = quick ? 2 : 4;
  const [timeRow, lostRow] = rowNames(n);
  const { findBinary, startNatsServer, startEtcd } = await import('../dist/fleet/engines/local-servers.js');
  const missing = [!(await findBinary('nats-server')) && 'nats-server', !(await findBinary('etcd')) && 'etcd-server'].filter(Boolean);
  if (missing.length > 0) {
    const note = `skipped: ${missing.join(' and ')} not installed (apt-get install -y ${missing.join(' ')})`;
    process.stderr.write(`bench fleet-rollout ${note}\n`);
    return [{ name: timeRow, value: null, goal: null, note }, { name: lostRow, value: null, goal: null, note }];
  }
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'wa-bench-rollout-'));
  const children = new Set();
  const rpcs = [];
  const stops = [];
  try {
    const trees = sources(dir);
    mkdirSync(join(dir, 'single'), { recursive: true });
    const nats = await startNatsServer({ dir: join(dir, 'nats') });
    stops.push(() => nats.stop());
    const etcd = await startEtcd({ dir: join(dir, 'etcd') });
    stops.push(() => etcd.stop());
    const tokens = { admin: randomBytes(24).toString('hex'), client: randomBytes(24).toString('hex') };
    const fleet = await startFleetSide({ dir, n, tokens, nats, etcd, trees, children, rpcs, stops });
    const single = await startSingleSide({ dir, n, tokens, trees, rpcs, stops });
    // both sides up at once, their updates interleaved (ABBA) so that a burst of other work hits each alike
    const plan = quick ? [[fleet, '1.1'], [single, '1.1']] : [[fleet, '1.1'], [single, '1.1'], [single, '1.0'], [fleet, '1.0']];
    const rounds = new Map([[fleet, []], [single, []]]);
    for (const [side, version] of plan) {
      process.stderr.write(`bench fleet-rollout: ${side === fleet ? 'fleet' : 'single hosts'} → ${version}\n`);
      rounds.get(side).push(await underLoad(side.clients, lanes, () => side.update(version), { beforeMs: BEFORE_MS, afterMs: AFTER_MS }));
    }
    const [f, b] = [rounds.get(fleet), rounds.get(single)];
    const [fleetLoad, singleLoad] = [pooled(f), pooled(b)];
    const errors = [...f, ...b].map((r) => r.outcome.error).filter(Boolean);
    const fleetS = mean(f.map((r) => r.outcome.ms)) / 1000;
    const singleS = mean(b.map((r) => r.outcome.ms)) / 1000;
    const load = `closed loop, ${lanes} ECHO in flight per router (${lanes * HOSTS.length} in all)`;
    return [
      {
        name: timeRow, value: +fleetS.toFixed(2), unit: 's', baseline: +singleS.toFixed(2), ratio: +(fleetS / singleS).toFixed(2), goal: null,
        error: errors.length > 0 ? errors.join('; ') : undefined,
        note: `utils/echo 1.0 → 1.1${quick ? '' : ' and back'}, ${n} instances (${fleet.spread} per host), both sides up at once, updates in the order ${plan.map(([s, v]) => `${s === fleet ? 'fleet' : 'single'}→${v}`).join(', ')}, `
          + `each under ${load}; value and baseline are means; ratio = fleet ÷ single hosts (no goal: reported). `
          + `fleet: ADMIN_UPDATE {maxParallel: ${MAX_PARALLEL}, minHealthy: 0} (what \`fleet update --max-parallel ${MAX_PARALLEL} --min-healthy 0\` sends; the CLI adds its own Node start) → reply: `
          + `${f.map((r) => fleetRoundNote(r.outcome)).join(' | ')}. single hosts: ${n / HOSTS.length} instances each, swapped one after another by each host's ADMIN_UPDATE, the three replied after `
          + `${b.map((r) => `${r.outcome.each.map((ms) => (ms / 1000).toFixed(1)).join(' / ')} s`).join(' | ')}`,
      },
      {
        name: lostRow, value: fleetLoad.failed + fleetLoad.lost, unit: 'commands', baseline: singleLoad.failed + singleLoad.lost, ratio: null, goal: 'value == 0',
        note: `${load}, from ${BEFORE_MS / 1000} s before each update to ${AFTER_MS / 1000} s after its end, all rounds; fleet: ${describeLoad(fleetLoad)} | single hosts: ${describeLoad(singleLoad)}`,
      },
    ];
  } finally {
    for (const r of rpcs) r.close();
    for (const proc of children) await stopProcess(proc, 'SIGTERM', 5000);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  const rows = await runFleetRolloutBench({ quick: process.argv.includes('--quick') });
  console.table(rows.map(({ note, ...row }) => row));
  for (const row of rows) console.log(`${row.name}: ${row.note}`);
  console.log(`fleet-rollout bench: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
