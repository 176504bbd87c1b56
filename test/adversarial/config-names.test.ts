// Bad YAML, bad keys and bad names thrown at a running admin: each refused naming the file, key or name and the rule;
// no worker started, nothing unpacked, utils/echo still READY and serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZip } from '../helpers/repo.js';
import { SIMPLE_PIVOT, startAdversary, type Adversary } from './harness.js';

let adv: Adversary;
let zip: Buffer;
beforeAll(async () => {
  adv = await startAdversary();
  // A package that would run if the configuration were accepted: a refusal must come before it.
  zip = await makeZip([{ name: 'worker.mjs', data: 'setInterval(() => {}, 1000);\n' }]);
});
afterAll(async () => {
  await adv?.close();
});

let counter = 0;

/** Publishes bad/cN with `files` over good defaults, starts it, and checks the refusal and that nothing changed. */
async function refusedStart(files: Record<string, string>, expected: { status?: string; parts: RegExp[] }, payload: Record<string, unknown> = {}): Promise<void> {
  const product = `c${++counter}`;
  await adv.publish('bad', product, { 'versions.yaml': '- "1.0"\n', '1_configuration.yaml': SIMPLE_PIVOT, '1_0_worker.zip': zip, ...files });
  const before = await adv.snapshot();
  const reply = await adv.send('ADMIN_START_WORKER', { product: `bad/${product}`, version: '1.0', ...payload });
  expect(reply.status).toBe(expected.status ?? 'FAIL');
  for (const part of expected.parts) expect(reply.error).toMatch(part);
  await adv.expectUnchanged(before);
}

/** A start with a bad name in the payload: INVALID before any URL or path is built from it. */
async function refusedName(payload: Record<string, unknown>, part: RegExp): Promise<void> {
  const before = await adv.snapshot();
  const reply = await adv.send('ADMIN_START_WORKER', payload);
  expect(reply.status).toBe('INVALID');
  expect(reply.error).toMatch(part);
  await adv.expectUnchanged(before);
}

describe('adversarial: YAML and keys', () => {
  it('a YAML alias bomb in a keys layer', async () => {
    const aliases = Array.from({ length: 150 }, (_, i) => `- name: k${i}\n  type: string\n  description: *d\n`).join('');
    await refusedStart({ 'keys.yaml': `- name: base\n  type: string\n  description: &d [a, b, c, d, e, f, g, h]\n${aliases}` }, {
      parts: [/^CONFIG_INVALID: /, /keys\.yaml: YAML has 150 aliases, over the yamlAliases limit of 100/],
    });
  });

  it('duplicate YAML keys in a pivot', async () => {
    await refusedStart({ '1_configuration.yaml': 'commands:\n  - name: PING\ncommands: []\n' }, {
      parts: [/^CONFIG_INVALID: /, /1_configuration\.yaml.*line 3.*duplicated mapping key/],
    });
  });

  it('a keys layer over the YAML size limit (1 MiB)', async () => {
    await refusedStart({ 'keys.yaml': `${'# padding\n'.repeat(110_000)}- name: a\n  type: string\n` }, {
      parts: [/^CONFIG_INVALID: /, /keys\.yaml: \d+ bytes, over the yamlBytes limit of 1048576/],
    });
  });

  it('a key definition with a wrong type', async () => {
    await refusedStart({ 'keys.yaml': '- name: port\n  type: integer\n  mandatory: "yes"\n' }, {
      parts: [/^CONFIG_INVALID: /, /key "port": .*mandatory/],
    });
  });

  it('a key type that does not exist', async () => {
    await refusedStart({ 'keys.yaml': '- name: port\n  type: strnig\n' }, { parts: [/^CONFIG_INVALID: /, /key "port": .*strnig/] });
  });

  it('a mandatory key without a value', async () => {
    await refusedStart({ 'keys.yaml': '- name: smtp_host\n  type: string\n  mandatory: true\n' }, { parts: [/^CONFIG_INVALID: /, /smtp_host/, /mandatory/] });
  });

  it('a value that does not convert to its key type', async () => {
    await refusedStart({ 'keys.yaml': '- name: port\n  type: integer\n' }, { parts: [/^CONFIG_INVALID: /, /port/, /integer/] }, { params: { port: 'eighty' } });
  });

  it('a value for a key no layer defines (a typo)', async () => {
    await refusedStart({ 'keys.yaml': '- name: port\n  type: integer\n  default: 1\n' }, { parts: [/^CONFIG_INVALID: /, /prot/] }, { params: { prot: 2 } });
  });

  it('an unquoted version number in versions.yaml', async () => {
    await refusedStart({ 'versions.yaml': '- 1.10\n' }, { parts: [/versions\.yaml line 1: version 1\.1 is an unquoted number/] });
  });

  it('a pivot command name that is not a name', async () => {
    await refusedStart({ '1_configuration.yaml': 'commands:\n  - name: "../PING"\n' }, { parts: [/^CONFIG_INVALID: /, /name "\.\.\/PING" is invalid/] });
  });
});

describe('adversarial: names', () => {
  const long = 'a'.repeat(200);
  it.each([
    ['..', /product "\.\." is invalid/],
    ['%2e%2e', /product "%2e%2e" is invalid/],
    ['ec\u0000ho', /product "ec\\u0000ho" is invalid/],
    [long, /product "a{80}…" is invalid/],
  ])('product %j', async (product, part) => {
    await refusedName({ product: `utils/${product}`, version: '1.1' }, part);
  });

  it('product with a `/` in it', async () => {
    await refusedName({ product: 'utils/echo/../../etc', version: '1.1' }, /product "utils\/echo\/\.\.\/\.\.\/etc" is invalid: it must be "type\/product"/);
  });

  it('type ".."', async () => {
    await refusedName({ product: '../echo', version: '1.1' }, /type "\.\." is invalid/);
  });

  it.each([
    ['..', /identifier "\.\." is invalid/],
    ['a/b', /identifier "a\/b" is invalid/],
    ['%2e%2e', /identifier "%2e%2e" is invalid/],
    ['echo\u0000', /identifier "echo\\u0000" is invalid/],
    [long, /identifier "a{80}…" is invalid/],
  ])('identifier %j', async (identifier, part) => {
    await refusedName({ product: 'utils/echo', version: '1.1', identifier }, part);
  });

  it('a version that is a path', async () => {
    const before = await adv.snapshot();
    const reply = await adv.send('ADMIN_GET_WORKER', { product: 'utils/echo', version: '../1.1' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/range "\.\.\/1\.1" is not a semver range/);
    await adv.expectUnchanged(before);
  });
});
