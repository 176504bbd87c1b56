// Configuration store: round trip over gRPC, persistence across a router restart, stored pivots make commands known.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredConfiguration } from '../../src/proto/types.js';
import { createFileConfigurationStore } from '../../src/router/config-store.js';
import { makeToken, startTestRouter } from '../helpers/router.js';
import { grpcErrorOf, routerClient, sendCommand, unary } from './raw.js';

const key = { type: 'utils', product: 'echo', major: '1', minor: '2' };
const layers = JSON.stringify([{ layer: 'type', keys: [{ name: 'greeting', type: 'string', default: 'hi' }] }]);
const pivot = JSON.stringify({ commands: [{ name: 'ECHO', schema: { type: 'object' } }], events: [{ name: 'ECHOED' }] });

describe('configuration store', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'wa-cs-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('Save then Get round-trips; unknown keys are found:false; it survives a restart; stored pivots make commands known', async () => {
    const tokens = { adminToken: makeToken(), clientToken: makeToken() };
    const first = await startTestRouter({ stateDir, tokens });
    let client = routerClient(first.address);
    const missing = await unary<StoredConfiguration>(client, 'GetConfiguration', key, tokens.adminToken);
    expect(missing).toMatchObject({ found: false, key });
    expect(await unary(client, 'SaveConfiguration', { key, layers_json: layers, pivot_json: pivot }, tokens.adminToken)).toMatchObject({ ok: true });
    const got = await unary<StoredConfiguration>(client, 'GetConfiguration', key, tokens.adminToken);
    expect(got).toMatchObject({ key, found: true, layers_json: layers, pivot_json: pivot });
    expect(got.saved_at_ms).toBeGreaterThan(0);
    // Declared by a stored pivot: queued until its deadline, not NO_WORKER at once.
    const started = Date.now();
    expect((await sendCommand(client, { command: 'ECHO', timeout_ms: 300 }, tokens.clientToken)).status).toBe('NO_WORKER');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    client.close();
    await first.close();

    const file = join(stateDir, 'store', 'utils', 'echo', '1.2.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ key, pivot_json: pivot });

    const second = await startTestRouter({ stateDir, tokens });
    client = routerClient(second.address);
    try {
      expect(await unary<StoredConfiguration>(client, 'GetConfiguration', key, tokens.adminToken)).toMatchObject({ found: true, layers_json: layers, saved_at_ms: got.saved_at_ms });
      const again = Date.now();
      expect((await sendCommand(client, { command: 'ECHO', timeout_ms: 300 }, tokens.clientToken)).status).toBe('NO_WORKER');
      expect(Date.now() - again).toBeGreaterThanOrEqual(290);
      const undeclared = Date.now();
      expect((await sendCommand(client, { command: 'UNDECLARED', timeout_ms: 30_000 }, tokens.clientToken)).status).toBe('NO_WORKER');
      expect(Date.now() - undeclared).toBeLessThan(10_000); // at once: well inside the 30 s timeout, slack for a loaded machine
    } finally {
      client.close();
      await second.close();
    }
  });

  it('refuses keys that are not names and JSON that is not JSON', async () => {
    const r = await startTestRouter({ stateDir });
    const client = routerClient(r.address);
    try {
      const bad = await grpcErrorOf(unary(client, 'SaveConfiguration', { key: { ...key, product: '../etc' }, layers_json: '[]', pivot_json: '{}' }, r.adminToken));
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      expect(bad.details).toMatch(/product/);
      expect((await grpcErrorOf(unary(client, 'GetConfiguration', { ...key, major: 'x' }, r.adminToken))).code).toBe(status.INVALID_ARGUMENT);
      expect((await grpcErrorOf(unary(client, 'SaveConfiguration', { key, layers_json: '[', pivot_json: '{}' }, r.adminToken))).details).toMatch(/layers_json is not JSON/);
    } finally {
      client.close();
      await r.close();
    }
  });

  it('the file store lists what it holds', async () => {
    const store = createFileConfigurationStore(join(stateDir, 'store'));
    expect(await store.list!()).toEqual([]);
    await store.save({ key, found: true, layers_json: layers, pivot_json: pivot, saved_at_ms: 5 });
    await store.save({ key: { ...key, minor: '3' }, found: true, layers_json: '[]', pivot_json: '{}', saved_at_ms: 6 });
    expect((await store.list!()).map((s) => s.key?.minor).sort()).toEqual(['2', '3']);
    expect(await store.get({ ...key, minor: '9' })).toBeUndefined();
  });
});
