// Repository URLs of docs/repository.md, built only from validated names and joined as if the base ended with `/`.
import { WorkerAdminError } from '../common/errors.js';
import { assertProduct, assertType, splitVersion } from '../common/names.js';
import type { LayerName } from './keys.js';

/** The base URL checked (http or https) and ending with `/`. */
export function normalizeBaseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WorkerAdminError('CONFIG_INVALID', `repository URL ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WorkerAdminError('CONFIG_INVALID', `repository URL ${JSON.stringify(url)} must be http:// or https://`);
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  parsed.search = '';
  parsed.hash = '';
  return parsed;
}

/** Path of versions.yaml. */
export function versionsPath(type: string, product: string): string {
  return `${assertType(type)}/${assertProduct(product)}/versions.yaml`;
}

/** Path of one keys layer of `version`. */
export function keysPath(type: string, product: string, version: string, layer: LayerName): string {
  const t = assertType(type);
  const p = assertProduct(product);
  const { major, minor } = splitVersion(version);
  switch (layer) {
    case 'type': return `${t}/keys.yaml`;
    case 'product': return `${t}/${p}/keys.yaml`;
    case 'major': return `${t}/${p}/${major}/keys.yaml`;
    case 'minor': return `${t}/${p}/${major}/${minor}/keys.yaml`;
  }
}

/** Path of the pivot of `major`. */
export function pivotPath(type: string, product: string, major: number): string {
  if (!Number.isSafeInteger(major) || major < 0) throw new WorkerAdminError('VERSION_INVALID', `major ${String(major)} is not a non-negative integer`);
  return `${assertType(type)}/${assertProduct(product)}/${major}_configuration.yaml`;
}

/** Path of the package zip of `version`. */
export function zipPath(type: string, product: string, version: string): string {
  const { major, minor } = splitVersion(version);
  return `${assertType(type)}/${assertProduct(product)}/${major}_${minor}_worker.zip`;
}
