// The repository client against a real `repo serve` on port 0, and scripted servers for 5xx and hangs.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packRepository } from '../../src/packages/pack/pack.js';
import { createRepositoryClient } from '../../src/repository/client.js';
import { mergeKeys } from '../../src/repository/keys.js';
import { compilePivot } from '../../src/repository/pivot.js';
import { startRepositoryServer } from '../../src/repository/server.js';
import { fromStored, toStored } from '../../src/repository/stored.js';
import { resolveVersion } from '../../src/repository/versions.js';
import { createCleanup, noSleep, scriptedServer, tempDir, writeDemoSource } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

async function servedDemo(versions?: string[]): Promise<{ url: string; out: string }> {
  const src = tempDir(cleanup);
  const out = tempDir(cleanup);
  await writeDemoSource(src, versions);
  await packRepository({ src, out });
  const server = await startRepositoryServer({ dir: out, listen: '127.0.0.1:0' });
  cleanup.add(() => server.close());
  return { url: server.url, out };
}

describe('repository client against repo serve', () => {
  it('resolves the highest version in range from a shuffled versions.yaml', async () => {
    const { url, out } = await servedDemo(['1.0']);
    await writeFile(join(out, 'utils/demo/versions.yaml'), '- "1.2"\n- "2.0"\n- "1.10"\n- "1.9"\n- "0.4"\n');
    const client = createRepositoryClient({ url });
    const listed = await client.listVersions('utils', 'demo');
    expect(resolveVersion(listed, '^1', 'utils/demo').version).toBe('1.10');
    expect(resolveVersion(listed, 'latest', 'utils/demo').version).toBe('2.0');
  });

  it('sees a changed versions.yaml at once, returns a fresh list each call, and never keeps a text that failed', async () => {
    const { url, out } = await servedDemo(['1.0']);
    const file = join(out, 'utils/demo/versions.yaml');
    await writeFile(file, '- "1.0"\n- "1.1"\n');
    const client = createRepositoryClient({ url });
    const first = await client.listVersions('utils', 'demo');
    first.reverse(); // a caller sorting its list must not change what the next caller gets
    expect(await client.listVersions('utils', 'demo')).toEqual([{ version: '1.0' }, { version: '1.1' }]);
    await writeFile(file, '- "1.0"\n- "1.1"\n- "1.2"\n');
    expect((await client.listVersions('utils', 'demo')).map((e) => e.version)).toEqual(['1.0', '1.1', '1.2']);
    await writeFile(file, '- "1.0"\n- "1.0"\n');
    await expect(client.listVersions('utils', 'demo')).rejects.toMatchObject({ code: 'VERSION_INVALID' });
    await expect(client.listVersions('utils', 'demo')).rejects.toMatchObject({ code: 'VERSION_INVALID' });
  });

  it('fetches four layers; layer 4 overrides layer 1; a missing layer is empty; the pivot compiles', async () => {
    const { url, out } = await servedDemo(['1.0']);
    await rm(join(out, 'utils/demo/1/keys.yaml'));
    const client = createRepositoryClient({ url });
    const conf = await client.fetchConfiguration('utils', 'demo', '1.0');
    expect(conf.layers.map((l) => [l.layer, l.keys.length])).toEqual([['type', 2], ['product', 2], ['major', 0], ['minor', 1]]);
    const port = mergeKeys(conf.layers).filter((k) => k.name === 'port');
    expect(port).toEqual([{ name: 'port', type: 'integer', default: 8000, layer: 'minor' }]);
    const pivot = compilePivot(conf.pivot);
    expect(pivot.commandNames).toEqual(['ECHO']);
    expect(pivot.checkCommand('ECHO', {})).toBeNull();
    expect(pivot.checkCommand('ECHO', 3)).toMatch(/payload must be object/);
    const back = fromStored(toStored({ type: 'utils', product: 'demo', version: '1.0' }, conf, 1));
    expect(back).toEqual(conf);
  });

  it('fails on a missing pivot and names the product when versions.yaml is missing', async () => {
    const { url, out } = await servedDemo(['1.0']);
    await rm(join(out, 'utils/demo/1_configuration.yaml'));
    const client = createRepositoryClient({ url });
    await expect(client.fetchPivot('utils', 'demo', 1)).rejects.toMatchObject({ code: 'PIVOT_INVALID', message: expect.stringMatching(/pivot of utils\/demo major 1 is missing/) });
    await expect(client.listVersions('utils', 'nope')).rejects.toMatchObject({ code: 'PRODUCT_UNKNOWN', message: expect.stringMatching(/utils\/nope/) });
    await expect(client.listVersions('utils', '../x')).rejects.toMatchObject({ code: 'NAME_INVALID' });
  });
});

describe('repository client retries and limits', () => {
  it('retries a 5xx and then succeeds', async () => {
    let calls = 0;
    const server = await scriptedServer(cleanup, (_req, res) => {
      calls += 1;
      if (calls <= 2) res.writeHead(503).end('busy');
      else res.writeHead(200).end('- "1.0"\n');
    });
    const client = createRepositoryClient({ url: `${server.url}base`, sleep: noSleep });
    expect(await client.listVersions('utils', 'demo')).toEqual([{ version: '1.0' }]);
    expect(server.hits).toEqual(['/base/utils/demo/versions.yaml', '/base/utils/demo/versions.yaml', '/base/utils/demo/versions.yaml']);
  });

  it('gives up after the retries with the status, and does not retry a 403', async () => {
    const five = await scriptedServer(cleanup, (_req, res) => void res.writeHead(500).end());
    await expect(createRepositoryClient({ url: five.url, retries: 2, sleep: noSleep }).listVersions('utils', 'demo')).rejects.toThrow(/HTTP 500/);
    expect(five.hits).toHaveLength(3);
    const forbidden = await scriptedServer(cleanup, (_req, res) => void res.writeHead(403).end());
    await expect(createRepositoryClient({ url: forbidden.url, sleep: noSleep }).listVersions('utils', 'demo')).rejects.toThrow(/HTTP 403/);
    expect(forbidden.hits).toHaveLength(1);
  });

  it('times out on a hung server (headers never sent, or body stalls)', async () => {
    const hung = await scriptedServer(cleanup, () => undefined);
    const client = createRepositoryClient({ url: hung.url, timeoutMs: 150, retries: 1, sleep: noSleep });
    await expect(client.listVersions('utils', 'demo')).rejects.toMatchObject({ code: 'REPOSITORY_ERROR', message: expect.stringMatching(/timed out|timeout/) });
    expect(hung.hits).toHaveLength(2);
    const stall = await scriptedServer(cleanup, (_req, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('- "1.0"\n');
    });
    const dir = tempDir(cleanup);
    const slow = createRepositoryClient({ url: stall.url, timeoutMs: 150, retries: 0 });
    await expect(slow.downloadPackage({ type: 'utils', product: 'demo', version: '1.0', dest: join(dir, 'z') })).rejects.toMatchObject({ code: 'REPOSITORY_ERROR' });
  });

  it('refuses a body over the size cap', async () => {
    const big = await scriptedServer(cleanup, (_req, res) => void res.writeHead(200).end(`# ${'x'.repeat(5000)}\n`));
    const client = createRepositoryClient({ url: big.url, limits: { yamlBytes: 1000 } });
    await expect(client.listVersions('utils', 'demo')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});
