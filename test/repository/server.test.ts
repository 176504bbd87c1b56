// `repo serve`: GET/HEAD, 404s, no escape from the tree, token-guarded PUT.
import { request } from 'node:http';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { safeSegments, startRepositoryServer } from '../../src/repository/server.js';
import { createCleanup, tempDir } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

// Raw requests: fetch/axios would normalise `..` away before it reaches the server.
function raw(url: string, path: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function serve(uploadToken?: string): Promise<{ url: string; dir: string; outside: string }> {
  const dir = tempDir(cleanup);
  const outside = tempDir(cleanup);
  await writeFile(join(outside, 'secret.yaml'), 'secret');
  await mkdir(join(dir, 'utils/demo'), { recursive: true });
  await writeFile(join(dir, 'utils/demo/versions.yaml'), '- "1.0"\n');
  await symlink(join(outside, 'secret.yaml'), join(dir, 'utils/link.yaml'));
  await symlink(outside, join(dir, 'utils/out'));
  const server = await startRepositoryServer({ dir, listen: '127.0.0.1:0', ...(uploadToken ? { uploadToken } : {}) });
  cleanup.add(() => server.close());
  return { url: server.url, dir, outside };
}

describe('repo serve', () => {
  it('serves files with GET and HEAD and answers 404 for missing files and folders', async () => {
    const { url } = await serve();
    expect(await raw(url, '/utils/demo/versions.yaml')).toEqual({ status: 200, body: '- "1.0"\n' });
    expect(await raw(url, '/utils/demo/versions.yaml', 'HEAD')).toEqual({ status: 200, body: '' });
    expect((await raw(url, '/utils/demo/nope.yaml')).status).toBe(404);
    expect((await raw(url, '/utils/demo')).status).toBe(404);
    expect((await raw(url, '/utils/demo/versions.yaml', 'DELETE')).status).toBe(405);
  });

  it('never leaves the tree: .., %2e%2e, absolute paths, symlinks out', async () => {
    const { url } = await serve();
    for (const path of ['/../etc/passwd', '/utils/../../etc/passwd', '/%2e%2e/etc/passwd', '/utils/%2E%2E/%2e%2e/etc/passwd', '//etc/passwd', '/%2Fetc%2Fpasswd', '/utils\\..\\x', '/C:/x']) {
      expect([400, 404], path).toContain((await raw(url, path)).status);
    }
    expect((await raw(url, '/utils/link.yaml')).status).toBe(404);
    expect((await raw(url, '/utils/out/secret.yaml')).status).toBe(404);
    expect(safeSegments('/a/b/')).toEqual(['a', 'b']);
    expect(safeSegments('/a/%2e%2e/b')).toBeNull();
  });

  it('accepts PUT only with the bearer token, writing atomically inside the tree', async () => {
    const token = 'upload-token-0123456789';
    const { url, dir, outside } = await serve(token);
    expect((await raw(url, '/utils/demo/versions.yaml', 'PUT', '- "2.0"\n')).status).toBe(401);
    expect((await raw(url, '/utils/demo/versions.yaml', 'PUT', '- "2.0"\n', { authorization: 'Bearer wrong' })).status).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    // a version is listed only once its zip and pivot are there
    expect((await raw(url, '/utils/demo/versions.yaml', 'PUT', '- "2.0"\n', auth)).status).toBe(409);
    expect((await raw(url, '/utils/demo/2_0_worker.zip', 'PUT', 'zip', auth)).status).toBe(201);
    expect((await raw(url, '/utils/demo/2_configuration.yaml', 'PUT', 'commands: []\n', auth)).status).toBe(201);
    expect((await raw(url, '/utils/demo/versions.yaml', 'PUT', '- "2.0"\n', auth)).status).toBe(201);
    expect(await readFile(join(dir, 'utils/demo/versions.yaml'), 'utf8')).toBe('- "2.0"\n');
    expect((await raw(url, '/utils/demo/run.sh', 'PUT', 'x', auth)).status).toBe(400);
    expect([400, 404]).toContain((await raw(url, '/utils/out/new/evil.yaml', 'PUT', 'x', auth)).status);
    expect((await raw(url, '/utils/out/keys.yaml', 'PUT', '[]', auth)).status).toBe(404);
    await expect(readFile(join(outside, 'new/evil.yaml'))).rejects.toThrow();
    const plain = await serve();
    expect((await raw(plain.url, '/utils/demo/versions.yaml', 'PUT', 'x', auth)).status).toBe(405);
  });
});
