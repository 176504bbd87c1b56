// Registers a new connector in the admin config so that `npm start` runs it: a list entry appended to `connectors`
// when that is the file's last top-level key (comments and layout untouched), else the text is left alone.
import { readFile, writeFile } from 'node:fs/promises';
import { parseYamlDocument } from '../common/yaml.js';

/** What registering did: `added` to the file, or `manual` with why (the caller prints the start command). */
export type Registration = { result: 'added'; file: string } | { result: 'manual'; why: string };

/** Appends `- { type, product, versions: ["^1"] }` to the connectors list of `file`, if that can be done safely. */
export async function registerConnector(file: string, type: string, product: string): Promise<Registration> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { result: 'manual', why: `${file} does not exist` };
  }
  let value: unknown;
  try {
    value = parseYamlDocument(text, { file }).value;
  } catch (error) {
    return { result: 'manual', why: `${file} is not valid YAML (${(error as Error).message})` };
  }
  const doc = (value ?? {}) as Record<string, unknown>;
  const list = doc['connectors'];
  if (Array.isArray(list) && list.some((c) => (c as Record<string, unknown>)?.['type'] === type && (c as Record<string, unknown>)?.['product'] === product)) {
    return { result: 'manual', why: `${file} already lists ${type}/${product}` };
  }
  const topKeys = [...text.matchAll(/^([A-Za-z_][\w-]*):/gm)].map((m) => m[1]);
  const entry = `{ type: ${type}, product: ${product}, versions: ["^1"] }`;
  let next: string;
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (list === undefined || list === null) {
    if (topKeys.includes('connectors')) return { result: 'manual', why: `${file}: connectors is empty in a form init does not edit` };
    next = `${body}connectors:\n  - ${entry}\n`;
  } else if (Array.isArray(list) && topKeys.at(-1) === 'connectors' && /^connectors:\s*(#.*)?$/m.test(text)) {
    const indent = /^connectors:\s*(?:#.*)?\n(?:\s*#.*\n)*(\s*)- /m.exec(text)?.[1] ?? '  ';
    next = `${body}${indent}- ${entry}\n`;
  } else {
    return { result: 'manual', why: `${file}: connectors is not the last block-style list of the file` };
  }
  // the edit must read back as the same list plus the new entry, or the file is left as it was
  const after = (parseYamlDocument(next, { file }).value as Record<string, unknown>)['connectors'];
  const added = Array.isArray(after) ? (after.at(-1) as Record<string, unknown> | undefined) : undefined;
  if (!Array.isArray(after) || after.length !== (Array.isArray(list) ? list.length : 0) + 1 || added?.['type'] !== type || added['product'] !== product) {
    return { result: 'manual', why: `${file}: appending to connectors would not read back as intended` };
  }
  await writeFile(file, next);
  return { result: 'added', file };
}
