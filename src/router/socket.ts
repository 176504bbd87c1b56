// Unix socket files: a stale one (nothing answers) is removed before bind; the bound one is made 0600 (0660 with a group).
import { chmod, chown, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';

/** True when something accepts connections on the socket at `path`. */
function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Makes `path` free for bind: creates its folder (0700), removes a socket file left by a dead router. */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new WorkerAdminError('ADDRESS_INVALID', `${path} exists and is not a socket: refusing to replace it`);
  if (await socketAnswers(path)) throw new WorkerAdminError('ADDRESS_INVALID', `another process is listening on unix:${path}`);
  await unlink(path);
}

/** Owner-only access to the bound socket (grpc-js has no option for the mode); with a group (runAs workers) 0660 for it. */
export async function restrictSocket(path: string, group?: number): Promise<void> {
  if (group === undefined) {
    await chmod(path, 0o600);
    return;
  }
  await chown(path, -1, group);
  await chmod(path, 0o660);
}

/** Removes the socket file at close; a missing file is fine. */
export async function removeSocket(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
