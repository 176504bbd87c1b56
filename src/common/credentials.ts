// {stateDir}/credentials.json: where `up` says everything listens, and the tokens (mode 0600).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WorkerAdminError } from './errors.js';

export interface Credentials {
  router: string;
  ops: string;
  repository: string;
  adminToken: string;
  clientToken: string;
}

export const DEFAULT_STATE_DIR = '.worker-admin';

/** Path of the credentials file in a state dir. */
export function credentialsPath(stateDir: string): string {
  return join(stateDir, 'credentials.json');
}

/** Reads credentials.json; undefined when there is none. */
export async function readCredentials(stateDir: string): Promise<Partial<Credentials> | undefined> {
  let text: string;
  try {
    text = await readFile(credentialsPath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as Partial<Credentials>;
  } catch (error) {
    throw new WorkerAdminError('CONFIG_INVALID', `${credentialsPath(stateDir)} is not valid JSON`, { cause: error });
  }
}

/** Writes a file atomically: temp file in the same folder, fsync, rename. */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** Writes credentials.json with mode 0600. */
export async function writeCredentials(stateDir: string, credentials: Credentials): Promise<void> {
  await writeFileAtomic(credentialsPath(stateDir), `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
}

