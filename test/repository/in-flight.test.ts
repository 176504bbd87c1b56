// Concurrent identical repository fetches share one GET; a fetch after the first settled sees the file as it is then.
import { afterEach, describe, expect, it } from 'vitest';
import { createRepositoryClient } from '../../src/repository/client.js';
import { createInFlight } from '../../src/repository/in-flight.js';
import { createCleanup, noSleep, scriptedServer } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

describe('createInFlight', () => {
  it('returns the pending run for a key, runs again once it settled, and shares failures only while pending', async () => {
    const shared = createInFlight<number>();
    let runs = 0;
    let release!: (n: number) => void;
    const run = (): Promise<number> => { runs += 1; return new Promise<number>((resolve) => { release = resolve; }); };
    const a = shared('k', run);
    const b = shared('k', run);
    const other = shared('other', async () => 7);
    release(1);
    expect(await Promise.all([a, b, other])).toEqual([1, 1, 7]);
    expect(runs).toBe(1);
    const failing = shared('k', async () => { throw new Error('boom'); });
    await expect(failing).rejects.toThrow('boom');
    expect(await shared('k', async () => 2)).toBe(2);
  });
});

describe('repository client request sharing', () => {
  it('answers 50 concurrent listVersions of one product with one GET, and a later call with a new GET', async () => {
    let body = '- "1.0"\n';
    const { url, hits } = await scriptedServer(cleanup, (_req, res) => {
      const sent = body;
      setTimeout(() => res.end(sent), 50); // keeps the first GET pending while the others are asked for
    });
    const client = createRepositoryClient({ url, sleep: noSleep });
    const lists = await Promise.all(Array.from({ length: 50 }, () => client.listVersions('utils', 'echo')));
    expect(hits).toEqual(['/utils/echo/versions.yaml']);
    expect(lists.every((l) => l.length === 1 && l[0]?.version === '1.0')).toBe(true);
    expect(lists[0]).not.toBe(lists[1]); // each caller parses its own copy
    body = '- "1.0"\n- "1.1"\n';
    expect((await client.listVersions('utils', 'echo')).map((v) => v.version)).toEqual(['1.0', '1.1']);
    expect(hits).toHaveLength(2);
  });

  it('shares a failure with the callers that waited for it, and retries afresh afterwards', async () => {
    let fail = true;
    const { url, hits } = await scriptedServer(cleanup, (_req, res) => {
      setTimeout(() => {
        res.statusCode = fail ? 404 : 200;
        res.end('- "2.0"\n');
      }, 30);
    });
    const client = createRepositoryClient({ url, sleep: noSleep });
    const results = await Promise.allSettled([client.listVersions('utils', 'x'), client.listVersions('utils', 'x')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(hits).toHaveLength(1);
    fail = false;
    expect((await client.listVersions('utils', 'x')).map((v) => v.version)).toEqual(['2.0']);
  });

  it('does not share different files', async () => {
    const { url, hits } = await scriptedServer(cleanup, (_req, res) => setTimeout(() => res.end('- "1.0"\n'), 20));
    const client = createRepositoryClient({ url, sleep: noSleep });
    await Promise.all([client.listVersions('utils', 'a'), client.listVersions('utils', 'b'), client.listVersions('utils', 'a')]);
    expect([...hits].sort()).toEqual(['/utils/a/versions.yaml', '/utils/b/versions.yaml']);
  });
});
