// connectors/http/poll (TypeScript) against a local HTTP server: FETCH returns status, headers and the body's sha256;
// with `interval` and `url` in its config it polls and emits HTTP_CHANGED when the body changes.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Event } from '../../src/proto/types.js';
import { ROOT } from '../helpers/stack.js';
import { packConnectors, startPyStack, until, type PyStack } from '../python/harness.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('http/poll against a local HTTP server', () => {
  let server: Server | undefined;
  let t: PyStack | undefined;
  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('FETCH: status, headers, sha256; polling emits HTTP_CHANGED with the new and previous sha256', async () => {
    let watched = 'version one';
    const hits: Record<string, number> = {};
    server = createServer((req, res) => {
      hits[req.url ?? ''] = (hits[req.url ?? ''] ?? 0) + 1;
      if (req.url === '/doc') return void res.writeHead(200, { 'content-type': 'text/plain', 'x-demo': 'yes' }).end('hello world');
      if (req.url === '/watched') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(watched);
      res.writeHead(404).end('nope');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await startPyStack({
      repositoryDir: await packConnectors(join(ROOT, 'connectors'), ['http']),
      connectors: [{ type: 'http', product: 'poll', versions: ['^1'], config: { url: `${base}/watched`, interval: '100ms' } }],
    });
    const events: Event[] = [];
    const watch = t.rpc.watchEvents({ topics: ['http/poll'] });
    watch.on('data', (e: Event) => events.push(e));
    watch.on('error', () => undefined);
    await new Promise((resolve) => watch.once('metadata', resolve));
    await t.stack.admin.startConfiguredConnectors();

    const doc = await t.client.send('FETCH', { url: `${base}/doc` });
    expect(doc, doc.error).toMatchObject({ status: 'SUCCESS', payload: { url: `${base}/doc`, status: 200, sha256: sha256('hello world'), bytes: 11 } });
    expect((doc.payload as { headers: Record<string, string> }).headers).toMatchObject({ 'content-type': 'text/plain', 'x-demo': 'yes' });
    const missing = await t.client.send('FETCH', { url: `${base}/missing` });
    expect(missing.payload).toMatchObject({ status: 404, sha256: sha256('nope') });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await t.client.send('FETCH', { url: deadUrl });
    expect(refused).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/fetch failed: .*ECONNREFUSED/) });
    expect(refused.error.startsWith(`${deadUrl}: `)).toBe(true);
    const invalid = await t.client.send('FETCH', { url: 'ftp://example.org/' });
    expect(invalid.status).toBe('INVALID');

    await until(async () => (hits['/watched'] ?? 0) >= 1, 'the first poll');
    watched = 'version two';
    await until(async () => events.some((e) => e.event === 'HTTP_CHANGED'), 'HTTP_CHANGED');
    expect(JSON.parse(events.find((e) => e.event === 'HTTP_CHANGED')!.payload)).toEqual({
      url: `${base}/watched`, status: 200, sha256: sha256('version two'), previous: sha256('version one'),
    });
    watch.cancel();
  }, 60_000);
});
