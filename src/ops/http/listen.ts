// Binding the ops server on an Address (HOST:PORT with port 0 allowed, or unix:PATH) and saying what was bound.
import { unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatAddress, type Address } from '../../common/address.js';
import { WorkerAdminError } from '../../common/errors.js';

/** Listens on `address`; resolves with the address actually bound (`127.0.0.1:43121`, `unix:/abs/ops.sock`). */
export async function listenOn(server: Server, address: Address): Promise<string> {
  if (address.kind === 'unix') await unlink(address.path).catch(() => undefined); // a socket left by a killed admin
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new WorkerAdminError('ADDRESS_INVALID', `ops API cannot listen on ${formatAddress(address)}: ${error.code ?? error.message}`, { cause: error }));
    };
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host.replace(/^\[|\]$/g, ''), done);
  });
  if (address.kind === 'unix') return formatAddress(address);
  const bound = server.address() as AddressInfo;
  return bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
}

/** Closes the server, cutting idle and open connections so close never waits on a browser's keep-alive. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
