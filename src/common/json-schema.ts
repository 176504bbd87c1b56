// The one ajv setup: every JSON Schema of the project (admin commands, pivots, payloads at the router) compiles here.
import { Ajv } from 'ajv';
import formatsModule from 'ajv-formats';

type FormatsPlugin = (ajv: Ajv) => Ajv;
// ajv-formats is CommonJS: under ESM its function is the default export's `default`, or the default export itself.
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ?? formatsModule) as unknown as FormatsPlugin;

/**
 * An ajv instance with the formats (email, uri, date-time…), not strict (pivots may carry keywords ajv does not know).
 * allErrors only for trusted schemas (the admin's own): on untrusted schemas and data it can make validation slow.
 */
export function createAjv(options: { allErrors?: boolean } = {}): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: options.allErrors ?? false, validateSchema: true });
  addFormats(ajv);
  return ajv;
}
