// The update mode of each configured connector, for /api/v1/updates, `worker-admin status` and the page.
import type { ConnectorConfig, UpdateMode } from '../config/types.js';

/** One connector's update mode, shaped like the ADMIN_SET_UPDATE_MODE reply plus product and range. */
export interface UpdateModeView {
  product: string;
  mode: UpdateMode;
  range: string | null;
  at: string | null;
  interval: string | null;
  /** ISO time of the next auto or planned check; null in manual mode. */
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
