// Validation of every name that ends up in a URL, a path or a routing key (docs/repository.md).
import { WorkerAdminError } from './errors.js';

export const TYPE_PRODUCT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const VERSION_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
export const IDENTIFIER_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const COMMAND_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const TOPIC_RE = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;

/** Quotes a bad value for an error message: escaped, cut at 80 characters. */
export function quoteName(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut);
}

function check(re: RegExp, what: string, value: unknown): string {
  if (typeof value !== 'string' || !re.test(value)) {
    throw new WorkerAdminError('NAME_INVALID', `${what} ${quoteName(value)} is invalid: it must match ${re.source}`);
  }
  return value;
}

/** A connector type: lower case, no `/`, `..` or `%`. */
export const assertType = (value: unknown): string => check(TYPE_PRODUCT_RE, 'type', value);
/** A connector product: lower case, no `/`, `..` or `%`. */
export const assertProduct = (value: unknown): string => check(TYPE_PRODUCT_RE, 'product', value);
/** An instance identifier (Area-style job identifier). */
export const assertIdentifier = (value: unknown): string => check(IDENTIFIER_RE, 'identifier', value);
/** A command or event name. */
export const assertCommandName = (value: unknown): string => check(COMMAND_RE, 'command', value);

/** A `major.minor` version string. */
export function assertVersion(value: unknown): string {
  if (typeof value !== 'string' || !VERSION_RE.test(value)) {
    throw new WorkerAdminError('VERSION_INVALID', `version ${quoteName(value)} is invalid: it must be "major.minor", e.g. "1.2"`);
  }
  return value;
}

/** Splits `major.minor` into numbers (the version must be valid). */
export function splitVersion(version: string): { major: number; minor: number } {
  const [major, minor] = assertVersion(version).split('.');
  return { major: Number(major), minor: Number(minor) };
}

/** `type/product` split and validated, as written in admin payloads (`product: "utils/echo"`). */
export function parseProductRef(value: unknown): { type: string; product: string } {
  if (typeof value !== 'string' || value.split('/').length !== 2) {
    throw new WorkerAdminError('NAME_INVALID', `product ${quoteName(value)} is invalid: it must be "type/product", e.g. "utils/echo"`);
  }
  const [type, product] = value.split('/') as [string, string];
  return { type: assertType(type), product: assertProduct(product) };
}

/** `type/product`: the key of a product in payloads, events, locks, state.json and messages. */
export function productKey(ref: { type: string; product: string }): string {
  return `${ref.type}/${ref.product}`;
}

/** The default instance identifier `{type}-{product}-{major}`. */
export function defaultIdentifier(type: string, product: string, version: string): string {
  return `${type}-${product}-${splitVersion(version).major}`;
}
