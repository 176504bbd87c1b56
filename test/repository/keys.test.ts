// Keys: layer parsing, merge by name, value resolution (params > config > default), conversions and refusals.
import { describe, expect, it } from 'vitest';
import { redactConfig, resolveConfig } from '../../src/repository/config.js';
import { mergeKeys, parseKeysYaml, redactKeys, type KeysLayer } from '../../src/repository/keys.js';

const layer = (name: KeysLayer['layer'], text: string): KeysLayer => parseKeysYaml(text, name, { file: `${name}.yaml` });

const layers = (): KeysLayer[] => [
  layer('type', '- name: port\n  type: integer\n  default: 1\n- name: color\n  type: string\n  default: red\n  values: [red, blue]\n'),
  layer('product', '- name: greeting\n  type: string\n  mandatory: true\n- name: api_key\n  type: string\n  secret: true\n  default: s3cret\n'),
  { layer: 'major', keys: [] },
  layer('minor', '- name: port\n  type: integer\n  default: 8080\n- name: ratio\n  type: number\n- name: verbose\n  type: boolean\n  default: false\n'),
];

describe('mergeKeys', () => {
  it('lets layer 4 override layer 1 for the same key, without duplicating it', () => {
    const merged = mergeKeys(layers());
    expect(merged.filter((k) => k.name === 'port')).toEqual([{ name: 'port', type: 'integer', default: 8080, layer: 'minor' }]);
    expect(merged.map((k) => k.name)).toEqual(['port', 'color', 'greeting', 'api_key', 'ratio', 'verbose']);
  });

  it('merges by layer rank whatever order the layers come in', () => {
    expect(mergeKeys([...layers()].reverse()).find((k) => k.name === 'port')?.default).toBe(8080);
  });
});

describe('parseKeysYaml', () => {
  it('refuses bad definitions naming the file, the line and the key', () => {
    expect(() => layer('type', '- name: a\n  type: int\n')).toThrow(/type\.yaml \(layer type\) line 1: key "a": type "int" is invalid/);
    expect(() => layer('type', '- name: a\n  type: string\n- name: b\n  type: integer\n  default: "x"\n')).toThrow(/line 3: key "b": default "x" is not of type integer/);
    expect(() => layer('type', '- name: a\n  type: string\n  mandatroy: true\n')).toThrow(/unknown field "mandatroy"/);
    expect(() => layer('type', '- name: a\n  type: string\n- name: a\n  type: string\n')).toThrow(/defined twice/);
    expect(() => layer('type', '- name: a\n  type: string\n  type: integer\n')).toThrow(/line 3/);
  });
});

describe('resolveConfig', () => {
  const merged = mergeKeys(layers());

  it('takes params over config over defaults and converts strings', () => {
    const got = resolveConfig(merged, { params: { port: '9090' }, config: { port: 7, greeting: 'hello', verbose: 'true', ratio: '0.5' } });
    expect(got).toEqual({ port: 9090, color: 'red', greeting: 'hello', api_key: 's3cret', ratio: 0.5, verbose: true });
  });

  it('refuses a missing mandatory key, naming it, its type and its layer', () => {
    expect(() => resolveConfig(merged, {})).toThrow(/key "greeting" \(string, layer product\) is mandatory and has no value/);
  });

  it('refuses a value of the wrong type, naming the expected type and the layer', () => {
    const run = () => resolveConfig(merged, { config: { greeting: 'hi', port: 'eighty' } });
    expect(run).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(run).toThrow(/key "port" \(layer minor\): "eighty" from config is not of type integer/);
    expect(() => resolveConfig(merged, { config: { greeting: 'hi', verbose: 'yes' } })).toThrow(/not of type boolean/);
    expect(() => resolveConfig(merged, { config: { greeting: 'hi', port: '1.5' } })).toThrow(/not of type integer/);
  });

  it('refuses a value outside `values` and a key no layer defines, but accepts dry_run', () => {
    expect(() => resolveConfig(merged, { config: { greeting: 'hi', color: 'green' } })).toThrow(/"green" from config is not one of "red", "blue"/);
    expect(() => resolveConfig(merged, { config: { greeting: 'hi', gretting: 'x' } })).toThrow(/key "gretting" \(from config\) is not defined/);
    expect(resolveConfig(merged, { params: { dry_run: 'true' }, config: { greeting: 'hi' } }).dry_run).toBe(true);
    expect(() => resolveConfig(merged, { params: { dry_run: 'maybe' }, config: { greeting: 'hi' } })).toThrow(/dry_run/);
  });

  it('never shows a secret value, in errors or redacted copies', () => {
    const keys = mergeKeys([layer('type', '- name: api_key\n  type: integer\n  secret: true\n')]);
    expect(() => resolveConfig(keys, { config: { api_key: 'hunter2' } })).toThrow(/^(?!.*hunter2).*api_key/);
    expect(redactConfig(merged, { api_key: 'hunter2', port: 1 })).toEqual({ api_key: '[redacted]', port: 1 });
    expect(JSON.stringify(redactKeys(merged))).not.toContain('s3cret');
  });
});
