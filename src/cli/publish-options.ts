// Options shared by `publish` and `yank`: the upload token file and TYPE/PRODUCT@VERSION references.
import { readFile } from 'node:fs/promises';
import { WorkerAdminError } from '../common/errors.js';
import { assertVersion, parseProductRef } from '../common/names.js';
import type { VersionRef } from '../publish/publish.js';
import { UsageError } from './args.js';

/** The token in `file` (trimmed), or undefined without a file. */
export async function readToken(file: unknown): Promise<string | undefined> {
  if (typeof file !== 'string') return undefined;
  const token = (await readFile(file, 'utf8').catch((error: unknown) => {
    throw new WorkerAdminError('AUTH_INVALID', `${file}: cannot read the token file (${(error as Error).message})`, { cause: error });
  })).trim();
  if (token === '') throw new WorkerAdminError('AUTH_INVALID', `${file}: the token file is empty`);
  return token;
}

/** `TYPE/PRODUCT@VERSION` checked; a UsageError naming `what` otherwise. */
export function parseVersionRef(text: string, what: string): VersionRef {
  const [ref = '', version, extra] = text.split('@');
  if (version === undefined || extra !== undefined) throw new UsageError(`${what} ${JSON.stringify(text)}: expected TYPE/PRODUCT@VERSION, e.g. utils/echo@1.2`);
  try {
    return { ...parseProductRef(ref), version: assertVersion(version) };
  } catch (error) {
    throw new UsageError(`${what} ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
}
