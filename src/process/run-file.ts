// Reads the last lines of one run's log file (`logs --run N`): from the end, so a large file costs only what is shown.
import { open, type FileHandle } from 'node:fs/promises';
import { WorkerAdminError } from '../common/errors.js';
import { logFilePath } from './logs.js';
import type { OutputLine } from './tail-ring.js';

const CHUNK = 64 * 1024;
const HEADER_RE = /^# worker-admin identifier=(\S+) version=(\S+) run=(\d+)$/;
const LINE_RE = /^(\S+) (stdout|stderr) (.*)$/s;

/** The last `n` lines of run `run` of `identifier`; NOT_FOUND when the file is not there (production removes ended runs' files). */
export async function readRunFile(stateDir: string, identifier: string, run: number, n: number): Promise<OutputLine[]> {
  const path = logFilePath(stateDir, identifier, run);
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new WorkerAdminError('NOT_FOUND', `run ${run} of ${identifier} has no log file (production mode removes the files of ended runs; development keeps them)`);
    }
    throw error;
  });
  try {
    const size = (await handle.stat()).size;
    const first = (await readAt(handle, 0, Math.min(size, 512))).toString('utf8');
    const version = HEADER_RE.exec(first.split('\n', 1)[0] ?? '')?.[2] ?? '?';
    // Read chunks backwards until n + 1 line breaks are in (the one before the first line shown).
    let end = size;
    const chunks: Buffer[] = [];
    let breaks = 0;
    while (end > 0 && breaks <= n) {
      const start = Math.max(0, end - CHUNK);
      const chunk = await readAt(handle, start, end - start);
      chunks.unshift(chunk);
      for (const byte of chunk) if (byte === 0x0a) breaks += 1;
      end = start;
    }
    // Decoded once, whole: a chunk boundary may cut a UTF-8 character (only the first, partial line can be garbled, and it is cut off).
    const all = Buffer.concat(chunks).toString('utf8').split('\n');
    if (end > 0) all.shift();
    const lines = all.filter((l) => l !== '' && !l.startsWith('# worker-admin '));
    return lines.slice(Math.max(0, lines.length - n)).map((raw) => {
      const m = LINE_RE.exec(raw);
      return { at: m?.[1] ?? '', identifier, version, run, stream: (m?.[2] ?? 'stdout') as OutputLine['stream'], text: m?.[3] ?? raw };
    });
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}
