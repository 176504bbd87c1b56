// Router / ops / repository addresses: `unix:PATH` or `HOST:PORT` (docs/configuration.md).
import { isAbsolute, resolve } from 'node:path';
import { WorkerAdminError } from './errors.js';

export type Address =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

/** The longest unix socket path the kernel takes (sun_path is 108 bytes with the NUL). */
const MAX_UNIX_PATH_BYTES = 107;

/** Parses an address; a relative unix path is resolved against `baseDir` (default: cwd). */
export function parseAddress(text: string, baseDir = process.cwd()): Address {
  if (typeof text !== 'string' || text.length === 0) {
    throw new WorkerAdminError('ADDRESS_INVALID', 'address is empty: use unix:PATH or HOST:PORT');
  }
  if (text.startsWith('unix:')) {
    let path = text.slice('unix:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path.length === 0) throw new WorkerAdminError('ADDRESS_INVALID', `address ${JSON.stringify(text)}: the socket path is empty`);
    const abs = isAbsolute(path) ? path : resolve(baseDir, path);
    if (Buffer.byteLength(abs) > MAX_UNIX_PATH_BYTES) {
      throw new WorkerAdminError('ADDRESS_INVALID', `address ${JSON.stringify(text)}: the socket path ${abs} is ${Buffer.byteLength(abs)} bytes, over the ${MAX_UNIX_PATH_BYTES}-byte limit of unix sockets`);
    }
    return { kind: 'unix', path: abs };
  }
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) {
    throw new WorkerAdminError('ADDRESS_INVALID', `address ${JSON.stringify(text)} is invalid: use unix:PATH or HOST:PORT (port 0 means any free port)`);
  }
  return { kind: 'tcp', host: match[1]!, port: Number(match[2]) };
}

/** The gRPC target string for an address (`unix:/abs/path` or `host:port`). */
export function formatAddress(address: Address): string {
  return address.kind === 'unix' ? `unix:${address.path}` : `${address.host}:${address.port}`;
}

/** True for loopback TCP hosts and unix sockets: safe without TLS. */
export function isLocalAddress(address: Address): boolean {
  if (address.kind === 'unix') return true;
  const host = address.host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
