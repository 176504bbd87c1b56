// TLS material from files (PEM), read once into the PEM text the SDK's channel credentials take.
import { readFile } from 'node:fs/promises';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import type { TlsOptions } from './types.js';

/** File paths of a TLS setup; each optional (a CA alone: server-authenticated TLS). */
export interface TlsFilePaths {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** Reads the files given into PEM text; a cert needs its key. CONFIG_INVALID naming the file otherwise. */
export async function loadTlsFiles(paths: TlsFilePaths, what = 'tls'): Promise<TlsOptions> {
  if ((paths.cert === undefined) !== (paths.key === undefined)) {
    throw new WorkerAdminError('CONFIG_INVALID', `${what}: cert and key go together (a client certificate needs its private key)`);
  }
  const tls: TlsOptions = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = paths[k];
    if (file === undefined) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new WorkerAdminError('CONFIG_INVALID', `${what}.${k} ${file}: ${errorMessage(error)}`, { cause: error });
    }
    if (!text.includes('-----BEGIN')) throw new WorkerAdminError('CONFIG_INVALID', `${what}.${k} ${file} is not PEM text`);
    tls[k] = text;
  }
  return tls;
}
