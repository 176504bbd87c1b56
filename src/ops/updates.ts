// The update mode of each configured connector, for /api/v1/updates, `worker-admin status` and the page.
import { parseUpdateAt } from '../config/cron.js';
import type { AdminConfig, ConnectorConfig, UpdateMode } from '../config/types.js';
import { formatDuration } from '../common/units.js';
import type { StateFile } from '../process/state-schema.js';
import { compileCron, nextCronTime } from './schedule/cron-next.js';

/** One connector's update mode, shaped like the ADMIN_SET_UPDATE_MODE reply plus product and range. */
export interface UpdateModeView {
  product: string;
  mode: UpdateMode;
  range: string | null;
  at: string | null;
  interval: string | null;
  /** ISO time of the next check; null when none is scheduled or it cannot be told (see configuredUpdateModes). */
  nextCheck: string | null;
}

/** Where the views come from. */
export type UpdateModeSource = () => UpdateModeView[];

/** Views from the updater itself: its `describe(ref)` answers {mode, at, interval, nextCheck} as ADMIN_SET_UPDATE_MODE does. */
export function describedUpdateModes(connectors: readonly ConnectorConfig[], describe: (ref: { type: string; product: string }) => Record<string, unknown>): UpdateModeSource {
  return () => connectors.map((c) => {
    const d = describe({ type: c.type, product: c.product });
    const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return {
      product: c.ref, mode: (text(d['mode']) ?? c.update.mode) as UpdateMode, range: c.update.range ?? null,
      at: text(d['at']), interval: text(d['interval']), nextCheck: text(d['nextCheck']),
    };
  });
}

/** Views from the config file, overridden by run-time modes in state.json, without asking the updater.
 * `nextCheck` is computed for planned mode (the next time `at` matches); auto mode's depends on the updater's last check: null. */
export function configuredUpdateModes(config: AdminConfig, state: () => StateFile, now: () => number): UpdateModeSource {
  return () => {
    const overrides = state().updateModes;
    return config.connectors.map((connector) => {
      const base = connector.update;
      const override = Object.hasOwn(overrides, connector.ref) ? overrides[connector.ref] : undefined;
      const mode = override?.mode ?? base.mode;
      const at = override ? override.at : base.at;
      const intervalMs = override?.intervalMs ?? base.intervalMs;
      return {
        product: connector.ref, mode, range: override?.range ?? base.range ?? null,
        at: mode === 'planned' ? at ?? null : null,
        interval: mode === 'auto' ? formatDuration(intervalMs) : null,
        nextCheck: mode === 'planned' && at ? plannedNext(at, now()) : null,
      };
    });
  };
}

function plannedNext(at: string, now: number): string | null {
  try {
    const next = nextCronTime(compileCron(parseUpdateAt(at, 'at')), now);
    return next === undefined ? null : new Date(next).toISOString();
  } catch {
    return null;
  }
}
