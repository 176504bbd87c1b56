// A desired-state file validated once: every field with its default, `${VAR}` kept as written, and every refusal naming
// the file, the line and the field.
import { describe, expect, it } from 'vitest';
import { isWorkerAdminError } from '../../src/common/errors.js';
import { parseDesiredFile } from '../../src/fleet/desired/file.js';

const FULL = `# the fleet's connectors
connectors:
  - type: utils
    product: echo
    versions: ["^1", "1.2"]
    instances: 6
    hosts: { zone: eu-1, tier: 2 }
    config:
      greeting: hello
      api_key: \${ECHO_API_KEY}
      retries: 3
      verbose: true
    update:
      mode: planned
      at: "03:30"
      range: "^1"
      maxParallel: 2
      canary: 1
      minHealthy: 30s
    restart: on-failure
  - type: mail
    product: smtp
`;

function refusal(text: string): string {
  try {
    parseDesiredFile(text, 'desired.yaml');
  } catch (error) {
    expect(isWorkerAdminError(error, 'CONFIG_INVALID'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

/** One connector under `connectors:` with `lines` (indented 4) after type and product: its fields start on line 5. */
const one = (...lines: string[]): string => `connectors:\n  - type: utils\n    product: echo\n${lines.map((l) => `    ${l}\n`).join('')}`;

describe('desired-state file', () => {
  it('reads every field, versions and config as written (${VAR} kept)', () => {
    expect(parseDesiredFile(FULL, 'desired.yaml')).toEqual([
      {
        type: 'utils', product: 'echo', versions: ['^1', '1.2'], instances: 6, hosts: { zone: 'eu-1', tier: '2' },
        config: { greeting: 'hello', api_key: '${ECHO_API_KEY}', retries: 3, verbose: true },
        update: { mode: 'planned', intervalMs: 60_000, range: '^1', at: '03:30', maxParallel: 2, canary: 1, minHealthyMs: 30_000 },
        restart: 'on-failure',
      },
      {
        type: 'mail', product: 'smtp', versions: ['latest'], instances: 1, hosts: {}, config: {},
        update: { mode: 'manual', intervalMs: 60_000, range: undefined, at: undefined, maxParallel: 1, canary: 0, minHealthyMs: 10_000 },
        restart: 'always',
      },
    ]);
  });

  it('takes an empty list (the fleet runs nothing) and instances 0', () => {
    expect(parseDesiredFile('connectors: []\n', 'd.yaml')).toEqual([]);
    expect(parseDesiredFile('connectors:\n', 'd.yaml')).toEqual([]);
    expect(parseDesiredFile(one('instances: 0'), 'd.yaml')[0]!.instances).toBe(0);
    expect(parseDesiredFile(one('update: { mode: auto, interval: 5m, minHealthy: 0 }'), 'd.yaml')[0]!.update).toMatchObject({ mode: 'auto', intervalMs: 300_000, minHealthyMs: 0 });
  });

  it.each([
    ['instances below 0', one('instances: -1'), 'desired.yaml:4: connectors[0].instances: must be an integer ≥ 0, got number -1'],
    ['instances not whole', one('instances: 2.5'), 'desired.yaml:4: connectors[0].instances: must be an integer ≥ 0, got number 2.5'],
    ['instances as a string', one('instances: "6"'), 'desired.yaml:4: connectors[0].instances: must be an integer ≥ 0, got string "6"'],
    ['instances too many', one('instances: 10001'), 'desired.yaml:4: connectors[0].instances: 10001 is over 10000'],
    ['hosts not a mapping', one('hosts: [eu-1]'), 'desired.yaml:4: connectors[0].hosts: must be a mapping of label to value'],
    ['hosts with a bad label', one('hosts:', '  "bad label": x'), 'desired.yaml:5: connectors[0].hosts.bad label: is not a label name'],
    ['maxParallel 0', one('update:', '  maxParallel: 0'), 'desired.yaml:5: connectors[0].update.maxParallel: must be an integer ≥ 1, got number 0'],
    ['canary below 0', one('update:', '  canary: -2'), 'desired.yaml:5: connectors[0].update.canary: must be an integer ≥ 0, got number -2'],
    ['minHealthy not a duration', one('update:', '  minHealthy: soon'), 'desired.yaml:5: connectors[0].update.minHealthy: "soon" is not a duration'],
    ['an unknown update mode', one('update:', '  mode: sometimes'), 'desired.yaml:5: connectors[0].update.mode: "sometimes" is not one of manual, auto, planned'],
    ['at without planned', one('update:', '  at: "03:00"'), 'desired.yaml:5: connectors[0].update.at: is only used with mode: planned'],
    ['an unknown update field', one('update:', '  parallel: 2'), 'desired.yaml:5: connectors[0].update.parallel: unknown field (allowed: mode, interval, range, at, maxParallel, canary, minHealthy)'],
    ['runAs', one('runAs: nobody'), 'desired.yaml:4: connectors[0].runAs: stays per host: set it in each host\'s admin.yaml, not in the desired state'],
    ['maxMemory', one('maxMemory: 100MiB'), 'desired.yaml:4: connectors[0].maxMemory: stays per host'],
    ['python', one('python: python3'), 'desired.yaml:4: connectors[0].python: stays per host'],
    ['an unknown connector field', one('replicas: 3'), 'desired.yaml:4: connectors[0].replicas: unknown field (allowed: type, product, versions, config, update, restart, instances, hosts)'],
    ['a bad restart', one('restart: maybe'), 'desired.yaml:4: connectors[0].restart: "maybe" is not one of always, on-failure, never'],
    ['a number as version', one('versions: [1.10]'), 'desired.yaml:4: connectors[0].versions[0]: 1.1 is a number: quote versions'],
    ['a bad range', one('versions: ["not a range"]'), 'desired.yaml:4: connectors[0].versions[0]: "not a range" is neither'],
    ['an unclosed ${', one('config:', '  token: "${TOKEN"'), 'desired.yaml:5: connectors[0].config.token: has an unclosed "${"'],
    ['a bad variable name', one('config:', '  token: "${1X}"'), 'desired.yaml:5: connectors[0].config.token: has an invalid variable reference "${1X}"'],
    ['a list as config value', one('config:', '  hosts: [a, b]'), 'desired.yaml:5: connectors[0].config.hosts: must be a string, number or boolean, got a list'],
    ['no type', 'connectors:\n  - product: echo\n', 'desired.yaml:2: connectors[0].type: is required'],
    ['a bad product name', 'connectors:\n  - type: utils\n    product: Echo\n', 'desired.yaml:3: connectors[0].product: "Echo" is invalid'],
    ['a product twice', `${one()}  - type: utils\n    product: echo\n`, 'desired.yaml:4: connectors[1]: utils/echo is already listed at connectors[0]'],
    ['a field beside connectors', 'connectors: []\noverrides: {}\n', 'desired.yaml:2: overrides: unknown field (allowed: connectors)'],
    ['no connectors field', 'hosts: {}\n', 'desired.yaml:1: hosts: unknown field (allowed: connectors)'],
    ['an empty file', '', 'desired.yaml: connectors: is required'],
    ['connectors not a list', 'connectors: { type: utils }\n', 'desired.yaml:1: connectors: must be a list, got a mapping'],
    ['bad YAML', 'connectors:\n  - type: utils\n   product: [\n', 'desired.yaml (line 3, column'],
  ])('refuses %s, naming the file, line and field', (_what, text, message) => {
    expect(refusal(text)).toContain(message);
  });

  it('refuses over 100 products: one etcd transaction writes them all', () => {
    const text = `connectors:\n${Array.from({ length: 101 }, (_, i) => `  - { type: utils, product: p${i} }\n`).join('')}`;
    expect(refusal(text)).toBe('desired.yaml:1: connectors: lists 101 products: a desired state holds at most 100 (it is written in one etcd transaction)');
    expect(parseDesiredFile(text.split('\n').slice(0, 101).join('\n'), 'desired.yaml')).toHaveLength(100);
  });
});
