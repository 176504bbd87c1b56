import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdminConfig, parseAdminConfig, parseAdminConfigObject } from '../../src/config/admin-config.js';
import { isWorkerAdminError } from '../../src/common/errors.js';

const TOKEN = 'a'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'wa-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CONFIG_INVALID message of parsing `text`, failing the test when it parses. */
function refusal(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseAdminConfig(text, { file: '/etc/wa/admin.yaml', env });
  } catch (error) {
    expect(isWorkerAdminError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`expected a refusal of:\n${text}`);
}

const connector = (extra: string): string => `connectors:\n  - type: utils\n    product: echo\n${extra}`;

describe('admin config defaults', () => {
  it('gives every field of docs/configuration.md its default, compiled to ms and bytes', () => {
    const config = parseAdminConfig('', { file: join(dir, 'admin.yaml'), env: {} });
    expect(config.stateDir).toBe(join(dir, '.worker-admin'));
    expect(config.mode).toBe('development');
    expect(config.router).toEqual({
      address: { kind: 'unix', path: join(dir, '.worker-admin', 'router.sock') },
      target: `unix:${join(dir, '.worker-admin', 'router.sock')}`,
      token: undefined,
      tls: undefined,
    });
    expect(config.repository).toEqual({ url: 'http://127.0.0.1:8070/', timeoutMs: 10_000, retries: 3, trustedKeys: [] });
    expect(config.ops).toEqual({ listen: { kind: 'tcp', host: '127.0.0.1', port: 8071 }, otel: { endpoint: '', intervalMs: 60_000 } });
    expect(config.dryRunDir).toBe(join(dir, '.worker-admin', 'dry-run'));
    expect(config.timeouts).toEqual({ startMs: 30_000, drainMs: 30_000, killMs: 5_000, commandMs: 30_000, adminCommandMs: 600_000, warmupMs: 2_000 });
    expect(config.limits).toEqual({
      zipBytes: 100 * 1024 ** 2, unpackedBytes: 500 * 1024 ** 2, entries: 10_000, ratio: 1000,
      yamlBytes: 1024 ** 2, yamlAliases: 100, messageBytes: 4 * 1024 ** 2, queue: 10_000, instances: 500, outputRate: 1000, outputBurst: 10_000, lineBytes: 16 * 1024,
    });
    expect(config.connectors).toEqual([]);
  });

  it('gives a connector its defaults', () => {
    const [echo] = parseAdminConfig(connector(''), { file: join(dir, 'admin.yaml'), env: {} }).connectors;
    expect(echo).toEqual({
      type: 'utils', product: 'echo', ref: 'utils/echo', versions: [{ kind: 'latest' }], config: {},
      update: { mode: 'manual', intervalMs: 60_000, range: undefined, at: undefined, cron: undefined },
      restart: 'always', runAs: undefined, maxMemoryBytes: undefined,
    });
  });

  it('reads a full config: paths relative to the file, durations, sizes, update policies', () => {
    const config = parseAdminConfig(`
stateDir: state
mode: production
router:
  address: "127.0.0.1:0"
  token: "\${TOKEN}"
  tls: { ca: tls/ca.pem, cert: /abs/admin.pem, key: tls/admin-key.pem }
repository: { url: "https://repo.example.org/base", timeout: 2s, retries: 0 }
ops: { listen: "unix:ops.sock", otel: { endpoint: "http://collector:4318" } }
dryRunDir: /var/dry
timeouts: { start: 500ms, drain: 1s, kill: 0, command: 1m, adminCommand: 1h, warmup: 0s }
limits: { zipBytes: 1KiB, unpackedBytes: 2048, entries: 5, ratio: 10, yamlBytes: 1MB, yamlAliases: 0, messageBytes: 1MiB, queue: 7, instances: 3 }
connectors:
  - type: utils
    product: echo
    versions: ["^1", "2.3", latest]
    config: { greeting: "hi \${WHO}", port: 8080, verbose: true }
    update: { mode: auto, interval: 5s, range: ">=1.2 <3" }
    restart: on-failure
    runAs: nobody
    maxMemory: 512MiB
  - type: mail
    product: smtp
    update: { mode: planned, at: "03:30" }
    restart: never
  - type: mail
    product: imap
    versions: "1.x"
    update: { mode: planned, at: "*/15 2-4 * * mon-fri" }
`, { file: join(dir, 'admin.yaml'), env: { TOKEN, WHO: 'world' } });
    expect(config.stateDir).toBe(join(dir, 'state'));
    expect(config.mode).toBe('production');
    expect(config.router).toEqual({
      address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: '127.0.0.1:0', token: TOKEN,
      tls: { ca: join(dir, 'tls/ca.pem'), cert: '/abs/admin.pem', key: join(dir, 'tls/admin-key.pem') },
    });
    expect(config.repository).toEqual({ url: 'https://repo.example.org/base/', timeoutMs: 2000, retries: 0, trustedKeys: [] });
    expect(config.ops).toEqual({ listen: { kind: 'unix', path: join(dir, 'ops.sock') }, otel: { endpoint: 'http://collector:4318', intervalMs: 60_000 } });
    expect(config.dryRunDir).toBe('/var/dry');
    expect(config.timeouts).toEqual({ startMs: 500, drainMs: 1000, killMs: 0, commandMs: 60_000, adminCommandMs: 3_600_000, warmupMs: 0 });
    expect(config.limits).toMatchObject({ zipBytes: 1024, unpackedBytes: 2048, yamlBytes: 1_000_000, yamlAliases: 0, messageBytes: 1024 ** 2 });
    const [echo, smtp, imap] = config.connectors;
    expect(echo?.versions).toEqual([{ kind: 'range', range: '^1' }, { kind: 'exact', version: '2.3' }, { kind: 'latest' }]);
    expect(echo?.config).toEqual({ greeting: 'hi world', port: 8080, verbose: true });
    expect(echo?.update).toEqual({ mode: 'auto', intervalMs: 5000, range: '>=1.2 <3', at: undefined, cron: undefined });
    expect(echo?.restart).toBe('on-failure');
    expect(echo?.runAs).toBe('nobody');
    expect(echo?.maxMemoryBytes).toBe(512 * 1024 ** 2);
    expect(smtp?.update).toMatchObject({ mode: 'planned', at: '03:30', cron: '30 3 * * *' });
    expect(smtp?.restart).toBe('never');
    expect(imap?.versions).toEqual([{ kind: 'range', range: '1.x' }]);
    expect(imap?.update.cron).toBe('*/15 2-4 * * mon-fri');
  });

  it('builds the same config from an object (for `up` and tests)', () => {
    const config = parseAdminConfigObject(
      { stateDir: 's', connectors: [{ type: 'utils', product: 'echo', config: { secret: '${S}' } }] },
      { file: '<up>', env: { S: 'x' }, baseDir: dir },
    );
    expect(config.stateDir).toBe(join(dir, 's'));
    expect(config.connectors[0]?.config).toEqual({ secret: 'x' });
    expect(() => parseAdminConfigObject({ nope: 1 }, { file: '<up>' })).toThrowError(/^<up>: nope: unknown field/);
  });

  it('loads the shipped config/admin.yaml: no ${…}, utils/echo ^1 (then mail/smtp and http/poll), manual updates', async () => {
    const path = resolve(__dirname, '../../config/admin.yaml');
    expect(readFileSync(path, 'utf8')).not.toContain('${');
    const config = await loadAdminConfig(path, { env: {} });
    expect(config.stateDir).toBe(resolve(__dirname, '../../.worker-admin'));
    expect(config.router.target).toBe(`unix:${resolve(__dirname, '../../.worker-admin/router.sock')}`);
    expect(config.repository.url).toBe('http://127.0.0.1:8070/');
    expect(config.connectors).toEqual([
      expect.objectContaining({
        ref: 'utils/echo', versions: [{ kind: 'range', range: '^1' }], config: { greeting: 'hello' },
        update: expect.objectContaining({ mode: 'manual' }), restart: 'always',
      }),
      expect.objectContaining({ ref: 'mail/smtp', versions: [{ kind: 'range', range: '^1' }], update: expect.objectContaining({ mode: 'manual' }) }),
      expect.objectContaining({ ref: 'http/poll', versions: [{ kind: 'range', range: '^1' }], update: expect.objectContaining({ mode: 'manual' }) }),
    ]);
  });

  it('loadAdminConfig resolves paths against the file folder and names an unreadable file', async () => {
    const file = join(dir, 'sub-admin.yaml');
    writeFileSync(file, 'stateDir: ./st\n');
    expect((await loadAdminConfig(file, { env: {} })).stateDir).toBe(join(dir, 'st'));
    await expect(loadAdminConfig(join(dir, 'missing.yaml'))).rejects.toThrowError(/missing\.yaml: cannot read the admin config/);
  });

  it('requires router.token when asked (`admin` alone) and checks its length', () => {
    expect(() => parseAdminConfig('', { file: 'a.yaml', env: {}, requireRouterToken: true })).toThrowError(/router\.token: is required/);
    expect(parseAdminConfig(`router: { token: "${TOKEN}" }`, { file: 'a.yaml', requireRouterToken: true }).router.token).toBe(TOKEN);
    expect(refusal('router: { token: short }')).toMatch(/router\.token: is 5 characters, tokens need at least 32/);
  });
});

describe('admin config refusals name the file, line, field and reason', () => {
  it('an unknown field, at any depth', () => {
    expect(refusal('stateDir: x\ncolour: blue\n')).toBe('/etc/wa/admin.yaml (line 2): colour: unknown field (allowed: stateDir, mode, router, repository, ops, dryRunDir, timeouts, limits, connectors, fleet)');
    expect(refusal('timeouts:\n  startup: 3s\n')).toMatch(/\(line 2\): timeouts\.startup: unknown field/);
    expect(refusal(connector('    update: { mode: auto, every: 5s }\n'))).toMatch(/\(line 4\): connectors\[0\]\.update\.every: unknown field/);
    expect(refusal(connector('    restrat: always\n'))).toMatch(/connectors\[0\]\.restrat: unknown field/);
  });

  it('a wrong type', () => {
    expect(refusal('mode: 3')).toMatch(/mode: must be a string, got number 3/);
    expect(refusal('router: unix:x')).toMatch(/router: must be a mapping, got string/);
    expect(refusal('connectors: { type: utils }')).toMatch(/connectors: must be a list, got a mapping/);
    expect(refusal('repository: { retries: many }')).toMatch(/repository\.retries: must be a whole number, got string "many"/);
    expect(refusal(connector('    config: { greeting: [a, b] }\n'))).toMatch(/\(line 4\): connectors\[0\]\.config\.greeting: must be a string, number or boolean, got a list/);
    expect(refusal(connector('    versions: [1.10]\n'))).toMatch(/connectors\[0\]\.versions\[0\]: 1\.1 is a number: quote versions/);
    expect(refusal('- a\n- b\n')).toMatch(/\(root\): must be a mapping, got a list/);
  });

  it('a bad version range, update range, mode, restart, name or address', () => {
    expect(refusal(connector('    versions: ["^1", "one"]\n'))).toMatch(/connectors\[0\]\.versions\[1\]: "one" is neither a "major.minor" version nor a semver range/);
    expect(refusal(connector('    update: { mode: auto, range: "^^1" }\n'))).toMatch(/connectors\[0\]\.update\.range: "\^\^1" is not a semver range/);
    expect(refusal(connector('    update: { mode: sometimes }\n'))).toMatch(/connectors\[0\]\.update\.mode: "sometimes" is not one of manual, auto, planned/);
    expect(refusal(connector('    restart: maybe\n'))).toMatch(/connectors\[0\]\.restart: "maybe" is not one of always, on-failure, never/);
    expect(refusal('mode: staging')).toMatch(/mode: "staging" is not one of development, production/);
    expect(refusal('connectors:\n  - type: Utils\n    product: echo\n')).toMatch(/\(line 2\): connectors\[0\]\.type: "Utils" is invalid/);
    expect(refusal('connectors:\n  - type: utils\n')).toMatch(/connectors\[0\]\.product: is required/);
    expect(refusal('router: { address: "nowhere" }')).toMatch(/router\.address: address "nowhere" is invalid/);
    expect(refusal(`router: { address: "unix:/${'x'.repeat(120)}" }`)).toMatch(/router\.address: .*over the 107-byte limit/);
    expect(refusal('repository: { url: "ftp://repo/" }')).toMatch(/repository\.url: "ftp:\/\/repo\/": only http and https/);
    expect(refusal(connector('  - type: utils\n    product: echo\n'))).toMatch(/connectors\[1\]: utils\/echo is already listed at connectors\[0\]/);
  });

  it('a bad duration or size', () => {
    expect(refusal(connector('    update: { mode: auto, interval: soon }\n'))).toMatch(/connectors\[0\]\.update\.interval: "soon" is not a duration/);
    expect(refusal(connector('    update: { mode: auto, interval: 0s }\n'))).toMatch(/connectors\[0\]\.update\.interval: must be above 0/);
    expect(refusal('timeouts: { drain: 30 }')).toMatch(/timeouts\.drain: 30 has no unit: write e.g. "30ms" or "30s"/);
    expect(refusal('limits: { zipBytes: 10 parsecs }')).toMatch(/limits\.zipBytes: "10 parsecs" is not a size/);
    expect(refusal(connector('    maxMemory: lots\n'))).toMatch(/connectors\[0\]\.maxMemory: "lots" is not a size/);
    expect(refusal('limits: { entries: 0 }')).toMatch(/limits\.entries: 0 is out of range/);
  });

  it('an unset ${VAR}: the variable and the field are named, no literal is kept', () => {
    expect(refusal('router:\n  token: "${WORKER_ADMIN_TOKEN}"\n')).toBe('/etc/wa/admin.yaml (line 2): router.token: environment variable WORKER_ADMIN_TOKEN is not set');
    expect(refusal(connector('    config: { password: "pre-${PW}" }\n'))).toMatch(/connectors\[0\]\.config\.password: environment variable PW is not set/);
    expect(refusal('stateDir: "${1X}"')).toMatch(/stateDir: has an invalid variable reference/);
    expect(refusal('stateDir: "${X"')).toMatch(/stateDir: has an unclosed/);
    // $$ is a literal $, so a value may hold "${" on purpose.
    const config = parseAdminConfig(connector('    config: { template: "$${NAME} costs $$5" }\n'), { file: 'a.yaml', env: {} });
    expect(config.connectors[0]?.config['template']).toBe('${NAME} costs $5');
  });

  it('a bad planned time: 24:00, 12:60, a 6-field cron, a special, or `at` without planned', () => {
    expect(refusal(connector('    update:\n      mode: planned\n      at: "24:00"\n'))).toBe('/etc/wa/admin.yaml (line 6): connectors[0].update.at: time "24:00" is out of range: use 00:00 to 23:59');
    expect(refusal(connector('    update: { mode: planned, at: "12:60" }\n'))).toMatch(/connectors\[0\]\.update\.at: time "12:60" is out of range/);
    expect(refusal(connector('    update: { mode: planned, at: "0 0 3 * * *" }\n'))).toMatch(/connectors\[0\]\.update\.at: cron expression "0 0 3 \* \* \*" has 6 fields/);
    expect(refusal(connector('    update: { mode: planned, at: "0 3 L * *" }\n'))).toMatch(/connectors\[0\]\.update\.at: .*"L" \(last day\)/);
    expect(refusal(connector('    update: { mode: planned }\n'))).toMatch(/connectors\[0\]\.update\.at: is required with mode: planned/);
    expect(refusal(connector('    update: { mode: auto, at: "03:00" }\n'))).toMatch(/connectors\[0\]\.update\.at: is only used with mode: planned/);
  });

  it('timeouts.start not below timeouts.adminCommand', () => {
    expect(refusal('timeouts: { start: 10m }')).toMatch(/timeouts\.start: \(600000 ms\) must be below timeouts\.adminCommand \(600000 ms\)/);
    expect(refusal('timeouts: { start: 2m, adminCommand: 1m }')).toMatch(/timeouts\.start/);
  });

  it('malformed YAML or a duplicate key is CONFIG_INVALID naming the file and line', () => {
    expect(refusal('mode: [unclosed\n')).toMatch(/^\/etc\/wa\/admin\.yaml \(line \d+, column \d+\)/);
    expect(refusal('mode: development\nmode: production\n')).toMatch(/admin\.yaml.*line 2/);
  });
});

describe('repository.trustedKeys', () => {
  it('takes ed25519 public keys as PEM and refuses anything else, naming the key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(parseAdminConfigObject({ repository: { trustedKeys: [pem] } }, { file: '<t>' }).repository.trustedKeys).toEqual([pem]);
    expect(() => parseAdminConfigObject({ repository: { trustedKeys: ['not a key'] } }, { file: '<t>' })).toThrow(/repository\.trustedKeys: key \[0\]: not a PEM public key/);
    expect(() => parseAdminConfigObject({ repository: { trustedKeys: [pem, rsa] } }, { file: '<t>' })).toThrow(/repository\.trustedKeys: key \[1\]: an rsa key, expected ed25519/);
    expect(() => parseAdminConfigObject({ repository: { trustedKeys: 'x' } }, { file: '<t>' })).toThrow(/repository\.trustedKeys: must be a list of PEM public keys/);
  });
});
