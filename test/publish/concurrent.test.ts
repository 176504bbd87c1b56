// Publishers at once and publishers killed: versions.yaml is merged with conditional PUTs (both land, 20 races in a
// row), and an upload cut off midway leaves the repository serving exactly what it served before.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { updateList } from '../../src/publish/list-update.js';
import { publish, type PublishReporter } from '../../src/publish/publish.js';
import { createRemoteRepository, type RemoteRepository } from '../../src/publish/remote.js';
import { startRepositoryServer } from '../../src/repository/server.js';
import { parseVersionsYaml } from '../../src/repository/versions.js';
import { versionsYamlText } from '../../src/repository/yanked.js';
import { cliEnv, BIN, newToken, snapshot } from '../helpers/publish.js';
import { createCleanup, tempDir, writeDemoSource, writeTree } from '../helpers/repo.js';
import { execa } from 'execa';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const quiet = (lines: string[] = []): PublishReporter => ({ line: (t) => void lines.push(t), warn: (t) => void lines.push(t) });

async function server(dir: string, token: string): Promise<string> {
  const s = await startRepositoryServer({ dir, listen: '127.0.0.1:0', uploadToken: token });
  cleanup.add(() => s.close());
  return s.url;
}

// Waits for `check` to hold, looking again after each short pause; fails after `ms` with `what`.
async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('concurrent publishing', () => {
  it('two publishers of 1.2 and 1.3 both land, 20 races in a row', async () => {
    const token = newToken();
    const a = tempDir(cleanup);
    const b = tempDir(cleanup);
    await writeDemoSource(a, ['1.2']);
    await writeDemoSource(b, ['1.3']);
    let conflicts = 0;
    for (let round = 0; round < 20; round++) {
      const dir = tempDir(cleanup);
      const url = await server(dir, token);
      const remote = createRemoteRepository(url, { token });
      const lines: string[] = [];
      const [ra, rb] = await Promise.all([publish({ src: a, remote, reporter: quiet(lines) }), publish({ src: b, remote, reporter: quiet(lines) })]);
      conflicts += lines.filter((l) => /after \d+ conflict/.test(l)).length;
      const listed = parseVersionsYaml(readFileSync(join(dir, 'utils/demo/versions.yaml'), 'utf8'), { file: 'versions.yaml' });
      expect(listed, `round ${round}`).toEqual([
        { version: '1.2', sha256: ra.versions[0]!.sha256 },
        { version: '1.3', sha256: rb.versions[0]!.sha256 },
      ]);
    }
    process.stdout.write(`20 races: ${conflicts} conditional PUT(s) refused with 412 and retried\n`);
  }, 180_000);

  it('a versions.yaml read before another publisher wrote it is refused (412) and merged again, never overwritten', async () => {
    const token = newToken();
    const dir = tempDir(cleanup);
    await writeTree(dir, { 'utils/demo/1_configuration.yaml': 'commands: []\n', 'utils/demo/1_2_worker.zip': 'a', 'utils/demo/1_3_worker.zip': 'b' });
    const url = await server(dir, token);
    const real = createRemoteRepository(url, { token });
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    // B reads first, then A writes, then B writes with the ETag it read: the interleaving that loses an update without If-Match
    let aWrote!: () => void;
    const written = new Promise<void>((resolve) => { aWrote = resolve; });
    let putsByB = 0;
    const slowB: RemoteRepository = {
      url: real.url,
      get: async (path) => {
        const got = await real.get(path);
        if (putsByB === 0) await written;
        return got;
      },
      put: async (path, data, options) => {
        putsByB++;
        return real.put(path, data, options);
      },
    };
    const update = (version: string, remote: RemoteRepository) => updateList(remote, {
      path: 'utils/demo/versions.yaml',
      parse: (text) => parseVersionsYaml(text, { file: 'versions.yaml' }),
      render: versionsYamlText,
      change: (current) => [...current.filter((e) => e.version !== version), { version, sha256: sha(version === '1.2' ? 'a' : 'b') }],
    });
    const bDone = update('1.3', slowB);
    const aResult = await update('1.2', real);
    aWrote();
    const bResult = await bDone;
    expect(aResult).toMatchObject({ attempts: 1, written: true, unconditional: false });
    expect(bResult).toMatchObject({ attempts: 2, written: true });
    expect(parseVersionsYaml(readFileSync(join(dir, 'utils/demo/versions.yaml'), 'utf8'), { file: 'v' }).map((e) => e.version)).toEqual(['1.2', '1.3']);
  });

  it('a publisher killed in the middle of an upload leaves the repository serving exactly what it served before', async () => {
    const token = newToken();
    const tokenFile = join(tempDir(cleanup), 'token');
    await writeFile(tokenFile, token);
    const dir = tempDir(cleanup);
    const url = await server(dir, token);
    const first = tempDir(cleanup);
    await writeDemoSource(first, ['1.0']);
    await publish({ src: first, remote: createRemoteRepository(url, { token }), reporter: quiet() });
    const before = snapshot(dir);

    // 1.1: an executable worker beside 4 MiB that do not compress, so its zip upload takes many chunks
    const src = tempDir(cleanup);
    await writeDemoSource(src, ['1.0']);
    await writeTree(src, {
      'utils/demo/1/1/keys.yaml': '- name: port\n  type: integer\n  default: 8001\n',
      'utils/demo/1/1/worker/worker': { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
      'utils/demo/1/1/worker/blob.bin': { data: randomBytes(4 * 1024 * 1024), mode: 0o644 },
    });

    // a proxy that forwards a zip PUT's first 512 KiB, then drops the rest: the publisher is mid-upload when killed
    const upstreamPort = Number(new URL(url).port);
    const sockets = new Set<Socket>();
    let stalled!: () => void;
    const held = new Promise<void>((resolve) => { stalled = resolve; });
    const proxy = createNetServer((client) => {
      const upstream = connect(upstreamPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      let zipBytes = -1; // bytes of the zip PUT forwarded; -1 until one starts (connections are kept alive across requests)
      client.on('data', (chunk: Buffer) => {
        if (zipBytes < 0 && /^PUT \S+_worker\.zip /.test(chunk.toString('latin1', 0, 200))) zipBytes = 0;
        if (zipBytes > 512 * 1024) {
          stalled(); // read and dropped (not paused: the publisher's death must still be seen)
          return;
        }
        if (zipBytes >= 0) zipBytes += chunk.length;
        upstream.write(chunk);
      });
      upstream.on('data', (c: Buffer) => client.write(c));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    cleanup.add(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); proxy.close(() => resolve()); }));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`;

    const child = execa('node', [BIN, 'publish', src, '--to', proxyUrl, '--token-file', tokenFile], { reject: false, env: cliEnv(), extendEnv: false });
    cleanup.add(() => child.kill('SIGKILL'));
    await Promise.race([held, child.then((r) => { throw new Error(`publish ended before it was cut off: ${r.stdout} ${r.stderr}`); })]);
    await until(() => readdirSync(join(dir, 'utils/demo')).some((n) => n.startsWith('.upload-')), 'the upload to reach the server');
    child.kill('SIGKILL');
    const ended = await child;
    expect(ended.signal).toBe('SIGKILL');
    await until(() => !readdirSync(join(dir, 'utils/demo')).some((n) => n.startsWith('.upload-')), 'the server to drop the cut-off upload');
    expect(snapshot(dir)).toEqual(before);
    const served = await createRemoteRepository(url).get('utils/demo/versions.yaml');
    expect(served.status === 200 && served.data.toString()).toBe(readFileSync(join(dir, 'utils/demo/versions.yaml'), 'utf8'));

    // the same publish, not cut off, then lands
    const again = await publish({ src, remote: createRemoteRepository(url, { token }), reporter: quiet() });
    expect(again.versions.map((v) => [v.version, v.outcome])).toEqual([['1.0', 'published'], ['1.1', 'new']]);
  }, 60_000);
});
