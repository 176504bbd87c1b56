// `worker-admin fleet get [--json]`: the fleet's stored desired state, in the file's own terms, with the overrides beside it.
import { dump } from 'js-yaml';
import { formatDurationExact } from '../../common/units.js';
import type { DesiredConnector, DesiredOverride, DesiredState } from '../../fleet/desired/types.js';
import { parseCommandLine, UsageError } from '../args.js';
import { CLIENT_OPTIONS, sendAdminCommand } from './admin-command.js';

export const USAGE = 'fleet get [--json] [--router ADDR] [--token TOKEN] [--state-dir DIR]';

/** Prints the stored desired state (YAML, or the raw reply with --json); exit 0, or 1 with the reason. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`fleet get takes no arguments\nusage: worker-admin ${USAGE}`);
  const answer = await sendAdminCommand(values, 'ADMIN_FLEET_GET', {});
  if (!answer.ok) {
    process.stderr.write(`worker-admin fleet get: ${answer.error}\n`);
    return 1;
  }
  const state = answer.payload as DesiredState;
  process.stdout.write(values['json'] ? `${JSON.stringify(state, null, 2)}\n` : renderDesiredState(state));
  return 0;
}

/** The desired state as YAML: each connector as a file would declare it plus when and by whom it was applied. */
export function renderDesiredState(state: DesiredState): string {
  if (state.connectors.length === 0) return '# no desired state: this fleet runs only what each host\'s admin.yaml lists\nconnectors: []\n';
  const doc: Record<string, unknown> = { connectors: state.connectors.map(asWritten) };
  const overrides = Object.entries(state.overrides);
  if (overrides.length > 0) doc['overrides'] = Object.fromEntries(overrides.map(([product, o]) => [product, overrideAsWritten(o)]));
  return dump(doc, { noRefs: true });
}

function asWritten(c: DesiredConnector): Record<string, unknown> {
  const u = c.update;
  return {
    type: c.type,
    product: c.product,
    versions: c.versions,
    instances: c.instances,
    ...(Object.keys(c.hosts).length > 0 ? { hosts: c.hosts } : {}),
    ...(Object.keys(c.config).length > 0 ? { config: c.config } : {}),
    update: {
      mode: u.mode, interval: formatDurationExact(u.intervalMs), ...(u.range !== undefined ? { range: u.range } : {}), ...(u.at !== undefined ? { at: u.at } : {}),
      maxParallel: u.maxParallel, canary: u.canary, minHealthy: formatDurationExact(u.minHealthyMs),
    },
    restart: c.restart,
    applied: { by: c.applied.by, at: new Date(c.applied.at).toISOString(), file: c.applied.file, digest: c.applied.digest },
  };
}

function overrideAsWritten(o: DesiredOverride): Record<string, unknown> {
  const u = o.update;
  return {
    update: { mode: u.mode, interval: formatDurationExact(u.intervalMs), ...(u.range !== undefined && u.range !== null ? { range: u.range } : {}), ...(u.at !== undefined && u.at !== null ? { at: u.at } : {}) },
    by: o.by, at: new Date(o.at).toISOString(), reason: o.reason,
  };
}
