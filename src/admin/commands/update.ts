// ADMIN_UPDATE, ADMIN_ROLLBACK, ADMIN_SET_UPDATE_MODE (docs/architecture.md).
import { resolveProduct } from '../payloads.js';
import { parseModePayload } from '../update/policy.js';
import type { UpdateService } from '../update/service.js';
import type { Handler } from './context.js';

/** The three update handlers, bound to the admin's update service. */
export function updateHandlers(updates: UpdateService): Record<string, Handler> {
  return {
    /** ADMIN_UPDATE {product?, version?} → {from, to, instances}. */
    ADMIN_UPDATE: async (payload, ctx) => {
      const ref = resolveProduct(payload['product'], ctx.config.connectors);
      const version = typeof payload['version'] === 'string' ? payload['version'] : undefined;
      return updates.updater.update(ref, { version, trigger: 'command' });
    },
    /** ADMIN_ROLLBACK {product?} → {from, to, instances}; the mode becomes manual. */
    ADMIN_ROLLBACK: async (payload, ctx) => updates.rollback(resolveProduct(payload['product'], ctx.config.connectors)),
    /** ADMIN_SET_UPDATE_MODE {product?, mode, at?, interval?, range?} → {mode, at, interval, nextCheck}. */
    ADMIN_SET_UPDATE_MODE: async (payload, ctx) => {
      const ref = resolveProduct(payload['product'], ctx.config.connectors);
      return updates.modes.set(ref, parseModePayload(payload, updates.modes.policyOf(ref)));
    },
  };
}
