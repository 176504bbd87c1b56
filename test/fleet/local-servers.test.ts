// Local nats-server and etcd on ports of our choosing: a port another process takes between the choice and the bind
// (a parallel test, another server starting) makes them start again on fresh ports, never fail the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startEtcd, startNatsServer, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { listensOn } from '../../src/fleet/engines/port-owner.js';
import { fleetSkipReason } from './engines.js';

const skip = await fleetSkipReason();
if (skip) console.log(`local servers: skipped: ${skip}`);

const PYTHON = '/usr/bin/python3';
const noPython = existsSync(PYTHON) ? undefined : `${PYTHON} is not installed (apt-get install -y python3)`;
if (noPython) console.log(`local servers: skipped: ${noPython}`);

/**
 * A port another process holds: bound, not listening, so a server's bind fails with "address already in use" the way
 * it does when a parallel test got there first. Node cannot bind a TCP socket without listening: a small Python
 * process holds it. (A port another process listens on is the test below.)
 */
async function takenPort(holders: ChildProcess[]): Promise<number> {
  const holder = spawn(PYTHON, ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)'], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: '/usr/bin:/bin' } });
  holders.push(holder);
  const line = await new Promise<string>((resolve, reject) => {
    holder.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    holder.once('exit', (code) => reject(new Error(`the port holder exited with ${code}`)));
  });
  return Number(line);
}

/** A port chooser whose first answer is `first`, then the kernel's; counts its calls. */
function choosing(first: number): { pick: () => Promise<number>; calls: number } {
  const chooser = {
    calls: 0,
    pick: async (): Promise<number> => {
      chooser.calls += 1;
      return chooser.calls === 1 ? first : freePort();
    },
  };
  return chooser;
}

/** A NATS client connects to `nats` and is served on its port. */
async function expectNatsServing(nats: LocalServer): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: nats.url });
  expect(nc.getServer()).toContain(String(nats.port));
  await nc.close();
}

describe.skipIf(skip !== undefined || noPython !== undefined)('local engine servers on ports of our choosing', () => {
  const servers: LocalServer[] = [];
  const holders: ChildProcess[] = [];
  const dirs: string[] = [];
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'wa-local-servers-'));
    dirs.push(d);
    return d;
  };

  const listeners: Server[] = [];

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
    for (const l of listeners.splice(0)) await new Promise((resolve) => l.close(resolve));
    for (const h of holders.splice(0)) {
      if (h.exitCode === null && h.signalCode === null) {
        const gone = new Promise((resolve) => h.once('exit', resolve));
        process.kill(h.pid as number, 'SIGKILL');
        await gone;
      }
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('nats-server: a port taken before the bind is chosen again, and the server listens on the new one', async () => {
    const taken = await takenPort(holders);
    const chooser = choosing(taken);
    const nats = await startNatsServer({ dir: dir(), pickPort: chooser.pick });
    servers.push(nats);
    expect(chooser.calls).toBe(2);
    expect(nats.port).not.toBe(taken);
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    await expectNatsServing(nats);
  });

  it('etcd: a client port taken before the bind is chosen again, and the member is healthy on the new one', async () => {
    const taken = await takenPort(holders);
    const chooser = choosing(taken);
    const etcd = await startEtcd({ dir: dir(), pickPort: chooser.pick });
    servers.push(etcd);
    expect(chooser.calls).toBe(4); // client and peer port, twice
    expect(etcd.port).not.toBe(taken);
    const health = (await (await fetch(`${etcd.url}/health`)).json()) as { health?: string };
    expect(health.health).toBe('true');
  });

  it('a port another process listens on is not mistaken for the server: the server starts on a fresh one', async () => {
    // what a connect probe alone cannot tell apart: something accepts on the port, but not the server we started
    const foreign = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    listeners.push(foreign);
    const port = (foreign.address() as AddressInfo).port;
    expect(await listensOn(process.pid, port)).toBe(true);
    const chooser = choosing(port);
    const nats = await startNatsServer({ dir: dir(), pickPort: chooser.pick });
    servers.push(nats);
    expect(chooser.calls).toBe(2);
    expect(nats.port).not.toBe(port);
    expect(await listensOn(nats.pid, nats.port)).toBe(true);
    expect(await listensOn(nats.pid, port)).toBe(false);
    await expectNatsServing(nats);
  });

  it('a port the caller gave is kept: taken, the start fails and says why', async () => {
    const taken = await takenPort(holders);
    const chooser = choosing(await freePort());
    await expect(startNatsServer({ dir: dir(), port: taken, pickPort: chooser.pick })).rejects.toThrow(/address already in use/i);
    expect(chooser.calls).toBe(0);
  });
});
