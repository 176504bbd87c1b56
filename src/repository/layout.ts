// Which files a repository tree holds (docs/repository.md, layout): a relative path named by kind, or null for anything else.
import { TYPE_PRODUCT_RE } from '../common/names.js';
import type { LayerName } from './keys.js';

/** What one repository file is. */
export type RepositoryFile =
  | { kind: 'keys'; layer: LayerName; type: string; product?: string; major?: number; minor?: number }
  | { kind: 'versions' | 'yanked'; type: string; product: string }
  | { kind: 'pivot'; type: string; product: string; major: number }
  | { kind: 'zip'; type: string; product: string; major: number; minor: number; version: string };

const NUM = '(0|[1-9]\\d{0,8})';
const PIVOT_RE = new RegExp(`^${NUM}_configuration\\.yaml$`);
const ZIP_RE = new RegExp(`^${NUM}_${NUM}_worker\\.zip$`);
const NUM_RE = new RegExp(`^${NUM}$`);

/** Classifies `/`-separated segments; null when they are outside the layout (bad names, unknown files, wrong depth). */
export function classifyPath(segments: readonly string[]): RepositoryFile | null {
  const [type, product, third, fourth, fifth] = segments;
  if (type === undefined || !TYPE_PRODUCT_RE.test(type)) return null;
  if (segments.length === 2) return product === 'keys.yaml' ? { kind: 'keys', layer: 'type', type } : null;
  if (product === undefined || !TYPE_PRODUCT_RE.test(product) || third === undefined) return null;
  if (segments.length === 3) {
    if (third === 'keys.yaml') return { kind: 'keys', layer: 'product', type, product };
    if (third === 'versions.yaml' || third === 'yanked.yaml') return { kind: third === 'versions.yaml' ? 'versions' : 'yanked', type, product };
    const pivot = PIVOT_RE.exec(third);
    if (pivot) return { kind: 'pivot', type, product, major: Number(pivot[1]) };
    const zip = ZIP_RE.exec(third);
    if (zip) return { kind: 'zip', type, product, major: Number(zip[1]), minor: Number(zip[2]), version: `${zip[1]}.${zip[2]}` };
    return null;
  }
  if (!NUM_RE.test(third) || fourth === undefined) return null;
  if (segments.length === 4) return fourth === 'keys.yaml' ? { kind: 'keys', layer: 'major', type, product, major: Number(third) } : null;
  if (segments.length === 5 && NUM_RE.test(fourth) && fifth === 'keys.yaml') return { kind: 'keys', layer: 'minor', type, product, major: Number(third), minor: Number(fourth) };
  return null;
}

/** The layout, for refusals. */
export const LAYOUT_HELP = '{type}/keys.yaml, {type}/{product}/{keys,versions,yanked}.yaml, {type}/{product}/{major}_configuration.yaml, '
  + '{type}/{product}/{major}/keys.yaml, {type}/{product}/{major}/{minor}/keys.yaml, {type}/{product}/{major}_{minor}_worker.zip';
