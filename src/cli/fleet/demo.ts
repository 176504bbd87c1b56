// `worker-admin fleet demo [--dir DIR] [--connectors DIR]`: nats-server + etcd + a repository packed from ./connectors
// + host-a, host-b, host-c as `up` processes on this machine (docs/fleet.md); Ctrl-C stops everything, exit 0.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { startLocalFleet, type LocalFleet } from '../../fleet/demo/local-fleet.js';
import { findBinary, startEtcd, startNatsServer, type LocalServer } from '../../fleet/engines/local-servers.js';
import { packRepository } from '../../packages/pack/pack.js';
import { createRouterRpc } from '../../sdk/rpc.js';
import { parseCommandLine, UsageError } from '../args.js';
import { waitForSignal } from '../signals.js';

export const USAGE = 'fleet demo [--dir DIR] [--connectors DIR]';
const DEFAULT_DIR = '.worker-admin/fleet-demo';
const HOSTS = [
  { name: 'host-a', labels: { zone: 'demo-1' } },
  { name: 'host-b', labels: { zone: 'demo-1' } },
  { name: 'host-c', labels: { zone: 'demo-2' }, connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello from host-c' } }] },
];

/** Why the demo cannot run here (an engine missing, with the apt-get line), or undefined. */
async function missingEngines(): Promise<string | undefined> {
  const missing: string[] = [];
  if (!(await findBinary('nats-server'))) missing.push('nats-server');
  if (!(await findBinary('etcd'))) missing.push('etcd-server');
  if (missing.length === 0) return undefined;
  return `the fleet demo needs ${missing.join(' and ')}, not installed here: sudo apt-get install -y ${missing.join(' ')}`;
}

/** Runs the demo until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { dir: { type: 'string' }, connectors: { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`fleet demo takes no arguments\nusage: worker-admin ${USAGE}`);
  const missing = await missingEngines();
  if (missing) {
    process.stderr.write(`worker-admin fleet demo: ${missing}\n`);
    return 1;
  }
  const dir = resolve((values['dir'] as string | undefined) ?? DEFAULT_DIR);
  const show = (path: string): string => {
    const rel = relative(process.cwd(), path);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  };
  const signalled = waitForSignal(); // listening from the start: Ctrl-C while starting still stops what was started
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  const starting = (async () => {
    // the engines' data is the demo's alone: a fresh nats-server and etcd each run (the hosts' package caches stay)
    await rm(join(dir, 'nats'), { recursive: true, force: true });
    await rm(join(dir, 'etcd'), { recursive: true, force: true });
    const repositoryDir = join(dir, 'repository');
    await rm(repositoryDir, { recursive: true, force: true });
    const packed = await packRepository({ src: resolve((values['connectors'] as string | undefined) ?? 'connectors'), out: repositoryDir });
    const nats = await startNatsServer({ dir: join(dir, 'nats') });
    stops.push(() => nats.stop());
    const etcd = await startEtcd({ dir: join(dir, 'etcd') });
    stops.push(() => etcd.stop());
    // one admin token and one client token for the whole fleet; each host's credentials.json holds them
    const tokens = { admin: randomBytes(24).toString('hex'), client: randomBytes(24).toString('hex') };
    const fleet = await startLocalFleet({ dir, hosts: HOSTS, repositoryDir, tokens, engines: { nats, etcd }, leaseTtl: '3s', reassignAfter: '30s', env: { WORKER_ADMIN_LOG_LEVEL: 'warn' } });
    stops.push(() => fleet.close());
    await servedThrough(fleet, 'host-a', tokens.client);
    return { nats, etcd, fleet, versions: packed.versions.length };
  })();
  const first = await Promise.race([starting.then((s) => ({ started: s })), signalled.then((signal) => ({ signal }))]).catch(async (error: unknown) => {
    await stopAll();
    throw error;
  });
  if ('signal' in first) {
    process.stdout.write(`${first.signal} while starting: stopping what was started\n`);
    await starting.catch(() => undefined);
    await stopAll();
    process.stdout.write('stopped\n');
    return 0;
  }
  const { nats, etcd, fleet, versions } = first.started;
  printWhere(fleet, nats, etcd, show(join(dir, 'repository')), versions, show);
  const stopping = { now: false };
  for (const host of fleet.hosts) watchExit(host, stopping);
  const hostA = show(fleet.host('host-a').stateDir);
  process.stdout.write(`fleet status: npx worker-admin fleet status --state-dir ${hostA}\n`);
  process.stdout.write(`ready: try  npx worker-admin send ECHO '{"text":"hi"}' --state-dir ${hostA}   (sent to host-a, served by host-c's utils-echo-1)\n`);
  const signal = await signalled;
  stopping.now = true;
  process.stdout.write(`${signal}: stopping the hosts, then etcd and nats-server\n`);
  await stopAll();
  process.stdout.write('stopped\n');
  return 0;
}

/** Waits until host-a's router serves ECHO (its only worker is on host-c): the try-this line works at once. */
async function servedThrough(fleet: LocalFleet, name: string, token: string): Promise<void> {
  const rpc = createRouterRpc({ address: fleet.host(name).router, token });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const reply = await rpc.sendCommand({ command: 'ECHO', payload: '{"text":"warm-up"}', timeout_ms: 10_000 }).catch((error: unknown) => ({ status: 'ERROR', error: String(error) }));
      if (reply.status === 'SUCCESS') return;
      if (Date.now() > deadline) throw new Error(`${name} did not serve ECHO through the fleet within 60 s: ${reply.status} ${reply.error}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    rpc.close();
  }
}

function printWhere(fleet: LocalFleet, nats: LocalServer, etcd: LocalServer, repositoryDir: string, versions: number, show: (p: string) => string): void {
  const lines = [
    'worker-admin fleet demo',
    `  nats-server  ${nats.url}  pid ${nats.pid}`,
    `  etcd         ${etcd.url}  pid ${etcd.pid}`,
    `  repository   ${fleet.repository.url}  (${versions} version(s) packed from ./connectors into ${repositoryDir})`,
  ];
  for (const h of fleet.hosts) {
    lines.push(`  ${h.name}       router ${h.router}  ops ${h.ops}  pid ${h.pid}  state-dir ${show(h.stateDir)}`);
  }
  lines.push('  tokens       one admin and one client token for the whole fleet, in each host\'s credentials.json');
  lines.push('  send or watch through a host with --state-dir DIR of that host (status, logs: its ops API the same way)');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Says so when a host's process ends while the demo runs (kill -9 in the walkthrough): the others see it lost. */
function watchExit(host: LocalFleet['hosts'][number], stopping: { now: boolean }): void {
  const pid = host.pid;
  void host.exited().then((how) => {
    if (stopping.now || host.pid !== pid) return;
    process.stdout.write(`${host.name} (pid ${pid}) exited (${how}): the other hosts answer its commands in flight HOST_LOST once its lease (3 s) lapses; Ctrl-C stops the rest\n`);
  });
}
