// What an apply changes, as people read it: added, changed field by field, removed; the same state → no change.
import { describe, expect, it } from 'vitest';
import { diffDesired, diffEntry, renderChange } from '../../src/fleet/desired/diff.js';
import { parseDesiredFile } from '../../src/fleet/desired/file.js';
import type { DesiredEntry } from '../../src/fleet/desired/types.js';

const entries = (yaml: string): DesiredEntry[] => parseDesiredFile(`connectors:\n${yaml}`, 'desired.yaml');
const lines = (before: string, after: string): string[] => diffDesired(entries(before), entries(after)).map(renderChange);

describe('desired-state diff', () => {
  it('adds, removes and changes products, in name order', () => {
    expect(lines(
      '  - { type: utils, product: echo, instances: 6 }\n  - { type: mail, product: smtp }\n',
      '  - { type: utils, product: echo, instances: 3 }\n  - { type: http, product: poll, instances: 2 }\n',
    )).toEqual([
      '+ http/poll instances 2',
      '- mail/smtp',
      '~ utils/echo instances 6 → 3',
    ]);
  });

  it('names every changed field with its old and new value', () => {
    expect(lines(
      '  - type: utils\n    product: echo\n    config: { greeting: hello, old: 1 }\n',
      '  - type: utils\n    product: echo\n    versions: ["^2"]\n    hosts: { zone: eu-1 }\n    config: { greeting: hi, token: "${T}" }\n'
      + '    update: { mode: planned, at: "03:00", range: "^2", maxParallel: 2, canary: 1, minHealthy: 1m, interval: 5m }\n    restart: never\n',
    )).toEqual([
      '~ utils/echo versions latest → ^2',
      '~ utils/echo hosts (every host) → zone=eu-1',
      '~ utils/echo config.greeting hello → hi',
      '~ utils/echo config.token (none) → ${T}',
      '~ utils/echo update.mode manual → planned',
      '~ utils/echo update.interval 1m → 5m',
      '~ utils/echo update.range (none) → ^2',
      '~ utils/echo update.at (none) → 03:00',
      '~ utils/echo update.maxParallel 1 → 2',
      '~ utils/echo update.canary 0 → 1',
      '~ utils/echo update.minHealthy 10s → 1m',
      '~ utils/echo restart always → never',
      '~ utils/echo config.old 1 → (none)',
    ]);
  });

  it('finds nothing between two writings of the same state, and tells a number from a string', () => {
    const a = '  - { type: utils, product: echo, hosts: { b: "2", a: "1" }, config: { x: 1, y: "${Y}" } }\n';
    const b = '  - type: utils\n    product: echo\n    config:\n      y: "${Y}"\n      x: 1\n    hosts: { a: "1", b: "2" }\n    update: { minHealthy: 10s }\n';
    expect(lines(a, b)).toEqual([]);
    const [number] = entries('  - { type: utils, product: echo, config: { x: 1 } }\n');
    const [text] = entries('  - { type: utils, product: echo, config: { x: "1" } }\n');
    expect(diffEntry(number!, text!)).toEqual([{ op: '~', product: 'utils/echo', field: 'config.x', from: '1', to: '"1"' }]);
  });

  it('renders each kind of change', () => {
    expect(renderChange({ op: '+', product: 'utils/echo', field: 'instances', to: '6' })).toBe('+ utils/echo instances 6');
    expect(renderChange({ op: '~', product: 'utils/echo', field: 'instances', from: '6', to: '3' })).toBe('~ utils/echo instances 6 → 3');
    expect(renderChange({ op: '-', product: 'mail/smtp' })).toBe('- mail/smtp');
    expect(renderChange({ op: '-', product: 'utils/echo', field: 'override' })).toBe('- utils/echo override');
  });
});
