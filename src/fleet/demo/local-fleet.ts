// A fleet on one machine: nats-server, etcd, one shared repository and N hosts as `up` processes, each with its own
// state dir and ports. `worker-admin fleet demo` runs it; the fleet tests drive it (kill, freeze, restart a host).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRepositoryServer, type RepositoryServer } from '../../repository/server.js';
import { startEtcd, startNatsServer, type LocalServer } from '../engines/local-servers.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/worker-admin.js');

export interface LocalHostSpec {
  name: string;
  labels?: Record<string, string>;
  /** Most fleet-managed instances placed on this host. */
  capacity?: number;
  /** admin.yaml `connectors:` entries of this host (objects, written as YAML/JSON). */
  connectors?: unknown[];
}

export interface LocalFleetOptions {
  /** Everything goes under it: engines' data, the repository, each host's state dir. */
  dir: string;
  hosts: LocalHostSpec[];
  /** A packed repository tree to serve (already built). */
  repositoryDir: string;
  tokens: { admin: string; client: string };
  /** Reuse engines (one per test file); default: start them here. */
  engines?: { nats: LocalServer | string[]; etcd: LocalServer | string[] };
  /** etcd key prefix (several fleets share engines with their own). Default /worker-admin. */
  prefix?: string;
  leaseTtl?: string;
  reassignAfter?: string;
  /** Extra environment of every host (e.g. WORKER_ADMIN_LOG_LEVEL). */
  env?: Record<string, string>;
  /** Extra admin.yaml fields of every host. */
  extra?: Record<string, unknown>;
  /** Engine credentials: written as ${WA_NATS_PASSWORD} / ${WA_ETCD_PASSWORD} references, the values in each host's environment. */
  natsAuth?: { user: string; password: string };
  etcdAuth?: { username: string; password: string };
}

export interface LocalHost {
  readonly name: string;
  readonly stateDir: string;
  readonly configFile: string;
  /** Of the running process (changes on restart). */
  pid: number;
  router: string;
  ops: string;
  /** Everything the process printed on stderr (logs), for a failing test to show. */
  log(): string;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal) of the current process. */
  exited(): Promise<number | string>;
  /** SIGTERM and wait (SIGKILL after 20 s). Idempotent per process. */
  stop(): Promise<void>;
  /** Starts the process again with the same state dir and config (after stop or a kill). */
  start(): Promise<void>;
}

export interface LocalFleet {
  nats: string[];
  etcd: string[];
  repository: RepositoryServer;
  hosts: LocalHost[];
  host(name: string): LocalHost;
  close(): Promise<void>;
}

/** Starts engines (unless given), serves the repository, writes each host's admin.yaml and starts every host. */
export async function startLocalFleet(options: LocalFleetOptions): Promise<LocalFleet> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const engine = async (given: LocalServer | string[] | undefined, start: () => Promise<LocalServer>): Promise<string[]> => {
      if (Array.isArray(given)) return given;
      const server = given ?? (await start());
      if (!given) stops.push(() => server.stop());
      return [server.url];
    };
    const nats = await engine(options.engines?.nats, () => startNatsServer({ dir: join(options.dir, 'nats') }));
    const etcd = await engine(options.engines?.etcd, () => startEtcd({ dir: join(options.dir, 'etcd') }));
    const repository = await startRepositoryServer({ dir: options.repositoryDir, listen: '127.0.0.1:0' });
    stops.push(() => repository.close());
    const hosts: LocalHost[] = [];
    for (const spec of options.hosts) hosts.push(await prepareHost(spec, options, { nats, etcd, repository: repository.url }));
    // every host stopped at once (each drains its own workers): one after another takes too long on a busy machine
    stops.push(() => Promise.all(hosts.map((h) => h.stop())).then(() => undefined));
    await Promise.all(hosts.map((h) => h.start()));
    return {
      nats, etcd, repository, hosts,
      host: (name) => {
        const found = hosts.find((h) => h.name === name);
        if (!found) throw new Error(`no host ${name}`);
        return found;
      },
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function prepareHost(spec: LocalHostSpec, options: LocalFleetOptions, engines: { nats: string[]; etcd: string[]; repository: string }): Promise<LocalHost> {
  const stateDir = join(options.dir, spec.name);
  await mkdir(stateDir, { recursive: true });
  const configFile = join(stateDir, 'host.yaml');
  const config = {
    stateDir,
    mode: 'development',
    router: { address: `unix:${join(stateDir, 'router.sock')}` },
    repository: { url: engines.repository, retries: 1 },
    ops: { listen: '127.0.0.1:0' },
    connectors: spec.connectors ?? [],
    fleet: {
      host: spec.name,
      labels: spec.labels ?? {},
      ...(spec.capacity !== undefined ? { capacity: spec.capacity } : {}),
      nats: { servers: engines.nats, ...(options.natsAuth ? { user: options.natsAuth.user, password: '${WA_NATS_PASSWORD}' } : {}) },
      etcd: { endpoints: engines.etcd, ...(options.etcdAuth ? { username: options.etcdAuth.username, password: '${WA_ETCD_PASSWORD}' } : {}) },
      prefix: options.prefix ?? '/worker-admin',
      leaseTtl: options.leaseTtl ?? '3s',
      reassignAfter: options.reassignAfter ?? '30s',
    },
    ...options.extra,
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`); // JSON is YAML
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? stateDir,
    WORKER_ADMIN_TOKEN: options.tokens.admin,
    WORKER_ADMIN_CLIENT_TOKEN: options.tokens.client,
    WORKER_ADMIN_LOG_LEVEL: 'info',
    WORKER_ADMIN_LOG_FORMAT: 'json',
    ...(options.natsAuth ? { WA_NATS_PASSWORD: options.natsAuth.password } : {}),
    ...(options.etcdAuth ? { WA_ETCD_PASSWORD: options.etcdAuth.password } : {}),
    ...options.env,
  };
  let child: ChildProcess | undefined;
  let exit: Promise<number | string> = Promise.resolve(0);
  let stderr = '';
  let stopping: Promise<void> | undefined;
  const host: LocalHost = {
    name: spec.name,
    stateDir,
    configFile,
    pid: -1,
    router: '',
    ops: '',
    log: () => stderr,
    signal: (signal) => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited: () => exit,
    stop: () => {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return Promise.resolve();
      return (stopping ??= (async () => {
        current.kill('SIGCONT');
        current.kill('SIGTERM');
        const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
        await exit;
        clearTimeout(timer);
      })());
    },
    start: async () => {
      stopping = undefined;
      const proc = spawn(process.execPath, [BIN, 'up', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      host.pid = proc.pid ?? -1;
      exit = new Promise((resolveExit) => proc.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1)));
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-200_000);
      });
      let stdout = '';
      await new Promise<void>((resolveReady, reject) => {
        proc.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('\nready:') || stdout.startsWith('ready:')) resolveReady();
        });
        void exit.then((code) => reject(new Error(`host ${spec.name} exited (${code}) before it was ready:\n${stderr.slice(-3000)}`)));
      });
      const credentials = JSON.parse(await readFile(join(stateDir, 'credentials.json'), 'utf8')) as { router: string; ops: string };
      host.router = credentials.router;
      host.ops = credentials.ops;
    },
  };
  return host;
}
