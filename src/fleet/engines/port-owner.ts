// Whose listening socket holds a TCP port, from Linux's /proc: a server we started must not be mistaken for another
// process that took its port first (that one answers a connect probe just as well).
import { readFile, readdir, readlink } from 'node:fs/promises';

/** /proc/net/tcp's state code of a listening socket. */
const LISTEN = '0A';

/** The inodes of the IPv4 sockets listening on `port` (any address), from the text of /proc/net/tcp. */
export function listeningInodes(table: string, port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, state, inode] = [fields[1], fields[3], fields[9]];
    if (local?.split(':')[1] === hexPort && state === LISTEN && inode !== undefined && inode !== '0') inodes.add(inode);
  }
  return inodes;
}

/**
 * True when process `pid` holds a socket listening on TCP `port`; false when only others do (or nobody, or `pid` is
 * gone); undefined where this cannot be told (no /proc: not Linux).
 */
export async function listensOn(pid: number, port: number): Promise<boolean | undefined> {
  let table: string;
  try {
    table = await readFile('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const inodes = listeningInodes(table, port);
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false; // gone (a server that could not bind exits)
  }
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}
