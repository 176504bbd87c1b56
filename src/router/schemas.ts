// JSON Schema checks of payloads: ajv compiled once per schema text, shared by every expectation using it.
import type { Ajv, ValidateFunction } from 'ajv';
import { WorkerAdminError } from '../common/errors.js';
import { createAjv } from '../common/json-schema.js';

/** Checks a parsed payload; returns ajv's message when it does not match, undefined when it does. */
export type PayloadCheck = (payload: unknown) => string | undefined;

/** Compiles schemas (JSON text) into checks; the same text is compiled once for the router's life. */
export class SchemaCompiler {
  private readonly ajv: Ajv = createAjv();
  private readonly cache = new Map<string, ValidateFunction>();

  /** One check per name; a schema that is not JSON or not a valid schema is PIVOT_INVALID naming it. */
  compileAll(schemas: Record<string, string>, what: string): Map<string, PayloadCheck> {
    const checks = new Map<string, PayloadCheck>();
    for (const [name, text] of Object.entries(schemas)) {
      if (text.trim() === '') continue;
      checks.set(name, this.compile(text, `${what} ${name}`));
    }
    return checks;
  }

  private compile(text: string, what: string): PayloadCheck {
    let validate = this.cache.get(text);
    if (!validate) {
      let schema: unknown;
      try {
        schema = JSON.parse(text);
      } catch (error) {
        throw new WorkerAdminError('PIVOT_INVALID', `schema of ${what} is not JSON: ${(error as Error).message}`, { cause: error });
      }
      if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
        throw new WorkerAdminError('PIVOT_INVALID', `schema of ${what} must be a JSON object`);
      }
      try {
        validate = this.ajv.compile(schema as object);
      } catch (error) {
        throw new WorkerAdminError('PIVOT_INVALID', `schema of ${what} is invalid: ${(error as Error).message}`, { cause: error });
      }
      this.cache.set(text, validate);
    }
    const fn = validate;
    return (payload) => (fn(payload) ? undefined : this.ajv.errorsText(fn.errors, { dataVar: 'payload' }));
  }
}
