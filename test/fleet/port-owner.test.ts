// Whose socket listens on a port (Linux /proc): a local engine server is only taken as started when the socket is its.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listeningInodes, listensOn } from '../../src/fleet/engines/port-owner.js';

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1068 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4101 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1068 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4190 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0
`;

describe('listening sockets of a port', () => {
  it('reads the inodes of the sockets listening on a port, at any address, and nothing else', () => {
    expect([...listeningInodes(TABLE, 4200)]).toEqual(['4101']); // 0x1068; the connected socket on it is not listening
    expect([...listeningInodes(TABLE, 22)]).toEqual(['22']); // 0x0016 padded; an inode 0 (a closing socket) is skipped
    expect(listeningInodes(TABLE, 80).size).toBe(0);
  });

  it.skipIf(!existsSync('/proc/net/tcp'))('tells the process that listens from one that does not', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore', env: {} });
    try {
      expect(await listensOn(process.pid, port)).toBe(true);
      expect(await listensOn(other.pid as number, port)).toBe(false);
    } finally {
      const gone = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGKILL');
      await gone;
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await listensOn(process.pid, port)).toBe(false);
  });
});
