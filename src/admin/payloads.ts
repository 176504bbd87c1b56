// Admin command payloads: `product` ("type/product") defaulted when the config lists exactly one connector.
import { WorkerAdminError } from '../common/errors.js';
import { parseProductRef } from '../common/names.js';

export interface ProductRef { type: string; product: string }

/** The product a payload names, or the only configured connector; INVALID (PAYLOAD_INVALID) otherwise. */
export function resolveProduct(value: unknown, connectors: readonly ProductRef[]): ProductRef {
  if (value !== undefined) {
    try {
      return parseProductRef(value);
    } catch (error) {
      throw new WorkerAdminError('PAYLOAD_INVALID', (error as Error).message, { cause: error });
    }
  }
  if (connectors.length === 1) return { type: connectors[0]!.type, product: connectors[0]!.product };
  throw new WorkerAdminError('PAYLOAD_INVALID', `product is required: the admin config lists ${connectors.length} connectors, so "product" ("type/product") cannot be left out`);
}

