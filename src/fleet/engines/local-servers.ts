// nats-server and etcd started on loopback (free ports, own data dirs): for `fleet demo` and the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { constants, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { listensOn } from './port-owner.js';

export interface LocalServer {
  readonly name: string;
  readonly pid: number;
  /** nats://127.0.0.1:PORT or http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** etcd's peer port (a restart on the same data dir reuses it). */
  readonly peerPort?: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT…) to the process. */
  signal(signal: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];

/** The absolute path of an engine binary, or undefined when it is not installed. */
export async function findBinary(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const dirs = [...(env['PATH'] ?? '').split(':').filter((d) => d !== ''), ...SEARCH];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A TCP port nothing listens on right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Tries to start a server on ports of our choosing again when another process took one first. */
const PORT_ATTEMPTS = 4;

/**
 * True when a start failed because a port was taken: `freePort` only says what was free a moment ago, and another
 * process (a parallel test, another server starting) may bind it before the server does.
 */
function portTaken(error: unknown): boolean {
  return error instanceof Error && /address already in use/i.test(error.message);
}

/**
 * Runs `attempt` with ports it picks itself; when `retry` (the ports were ours to choose) and the server found one
 * taken, again with new ones, up to PORT_ATTEMPTS times. An attempt that starts several servers (a cluster whose
 * nodes name each other's ports) must stop the ones it started before it throws: the next attempt starts them all.
 */
export async function withFreshPorts<T>(retry: boolean, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!retry || tries >= PORT_ATTEMPTS || !portTaken(error)) throw error;
    }
  }
}

/**
 * Resolves once the child accepts TCP connections on 127.0.0.1:port, or rejects when it exits first. Another process
 * listening on that port (it took the port between our choice and the child's bind) accepts a connect just as well:
 * where /proc tells whose socket it is, only the child's counts, and the child exits on its failed bind.
 */
async function waitForPort(port: number, child: ChildProcess, name: string, log: () => string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it listened on ${port}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok && child.pid !== undefined && (await listensOn(child.pid, port)) !== false) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function track(name: string, child: ChildProcess, url: string, port: number): LocalServer {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid: child.pid ?? -1,
    url,
    port,
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop() {
      return (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })());
    },
  };
}

function capture(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text.trim().split('\n').slice(-8).join('\n');
}

interface NatsServerOptions {
  dir: string;
  port?: number;
  /** max_payload in bytes (default 8 MiB: a 4 MiB command plus our envelope fits). */
  maxPayload?: number;
  /** Require this user and password. */
  auth?: { user: string; password: string };
  /** Join a cluster: this node's route port and the other nodes' route ports. */
  cluster?: { name: string; port: number; routes: number[] };
  binary?: string;
  /** How a port is chosen when none is given (default freePort). */
  pickPort?: () => Promise<number>;
}

/** Starts Debian's nats-server on 127.0.0.1 with a config file of ours (on another free port if one was taken). */
export async function startNatsServer(options: NatsServerOptions): Promise<LocalServer> {
  const binary = options.binary ?? (await findBinary('nats-server'));
  if (!binary) throw new Error('nats-server is not installed (apt-get install -y nats-server)');
  const pick = options.pickPort ?? freePort;
  return withFreshPorts(options.port === undefined, async () => startNatsOnce(options, binary, options.port ?? (await pick())));
}

async function startNatsOnce(options: NatsServerOptions, binary: string, port: number): Promise<LocalServer> {
  await mkdir(options.dir, { recursive: true });
  const lines = [`listen: 127.0.0.1:${port}`, `max_payload: ${options.maxPayload ?? 8 * 1024 * 1024}`, 'ping_interval: "2s"', 'ping_max: 2'];
  if (options.auth) lines.push(`authorization { user: ${JSON.stringify(options.auth.user)}, password: ${JSON.stringify(options.auth.password)} }`);
  if (options.cluster) {
    const routes = options.cluster.routes.map((p) => `nats-route://127.0.0.1:${p}`);
    lines.push(`cluster { name: ${JSON.stringify(options.cluster.name)}, listen: 127.0.0.1:${options.cluster.port}, routes: ${JSON.stringify(routes)} }`);
  }
  const configFile = join(options.dir, `nats-${port}.conf`);
  await writeFile(configFile, `${lines.join('\n')}\n`);
  const child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  const log = capture(child);
  const server = track('nats-server', child, `nats://127.0.0.1:${port}`, port);
  try {
    await waitForPort(port, child, 'nats-server', log);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

interface EtcdOptions {
  dir: string;
  clientPort?: number;
  peerPort?: number;
  name?: string;
  binary?: string;
  /** More etcd flags after ours (e.g. `--max-txn-ops`, to run with an operator's limits). */
  extraArgs?: string[];
  /** How a port is chosen when none is given (default freePort). */
  pickPort?: () => Promise<number>;
}

/** Starts Debian's etcd (a single member) on 127.0.0.1 with its data in `dir` (on other free ports if one was taken). */
export async function startEtcd(options: EtcdOptions): Promise<LocalServer> {
  const binary = options.binary ?? (await findBinary('etcd'));
  if (!binary) throw new Error('etcd is not installed (apt-get install -y etcd-server)');
  const pick = options.pickPort ?? freePort;
  const name = options.name ?? 'etcd-local';
  const dataDir = join(options.dir, `${name}.etcd`);
  const fresh = !existsSync(dataDir);
  return withFreshPorts(options.clientPort === undefined && options.peerPort === undefined, async () => {
    try {
      return await startEtcdOnce(options, binary, { name, dataDir }, options.clientPort ?? (await pick()), options.peerPort ?? (await pick()));
    } catch (error) {
      // a member that never started must not leave a data dir naming its peer port for the next attempt
      if (fresh) await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
  });
}

async function startEtcdOnce(options: EtcdOptions, binary: string, member: { name: string; dataDir: string }, clientPort: number, peerPort: number): Promise<LocalServer> {
  const { name, dataDir } = member;
  await mkdir(options.dir, { recursive: true });
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `${name}=${peer}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-level', 'error',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ETCD_UNSUPPORTED_ARCH: process.env['ETCD_UNSUPPORTED_ARCH'] ?? '' } });
  const log = capture(child);
  const server = track('etcd', child, client, clientPort);
  try {
    await waitForPort(clientPort, child, 'etcd', log);
    await waitForHealth(client, child, log);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { ...server, peerPort };
}

/** etcd listens before it has elected itself leader: wait for /health to say so. */
async function waitForHealth(client: string, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited: ${log()}`);
    try {
      const response = await fetch(`${client}/health`);
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`etcd was not healthy within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
