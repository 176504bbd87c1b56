// Splits a child's output stream into lines on the raw bytes: a line is decoded only when it is kept, and never more than
// one (capped) line is held in memory. Each kept line is a fresh string (never a slice of the whole chunk it came in).
import type { Readable } from 'node:stream';

/** Bytes of the longest line kept whole (default); a longer run without a newline is cut into pieces of at most this size. */
const MAX_LINE_BYTES = 16 * 1024;

interface ReadLinesOptions {
  /** Default MAX_LINE_BYTES; cuts fall on UTF-8 character boundaries. */
  maxLineBytes?: number;
  /** Asked once per line (and per piece of a cut line) before it is decoded: false skips it unread (the rate limit). */
  admit?: () => boolean;
}

/** Calls `onLine` for each admitted line of `stream` (no trailing \r\n); resolves when the stream ends or closes. */
export function readLines(stream: Readable, onLine: (line: string) => void, options: ReadLinesOptions = {}): Promise<void> {
  const max = Math.max(4, options.maxLineBytes ?? MAX_LINE_BYTES);
  const admit = options.admit ?? (() => true);
  let parts: Buffer[] = [];
  let size = 0;
  let keep: boolean | undefined; // the current line's admission, asked at its first byte
  const emit = (bytes: Buffer): void => {
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    try {
      onLine(text);
    } catch {
      // A failing log sink must not stop the stream: the child would block on a full pipe.
    }
  };
  const take = (): Buffer => {
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return all;
  };
  // Emits full pieces of `max` bytes while the line in progress is longer; the rest stays pending.
  const cutLong = (): void => {
    while (size > max) {
      const all = take();
      let cut = max;
      while (cut > 0 && (all[cut]! & 0xc0) === 0x80) cut -= 1; // not inside a UTF-8 sequence
      if (cut === 0) cut = max;
      emit(all.subarray(0, cut));
      const rest = all.subarray(cut);
      if (rest.length > 0) {
        parts = [rest];
        size = rest.length;
      }
      keep = admit(); // each further piece is a line of its own for the limit
      if (!keep) {
        parts = [];
        size = 0;
        return;
      }
    }
  };
  const push = (chunk: Buffer): void => {
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(0x0a, pos);
      const end = newline === -1 ? chunk.length : newline;
      keep ??= admit();
      if (keep && end > pos) {
        parts.push(chunk.subarray(pos, end));
        size += end - pos;
        cutLong();
      }
      if (newline === -1) return;
      if (keep) emit(take());
      keep = undefined;
      pos = newline + 1;
    }
  };
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (keep && size > 0) emit(take());
      parts = [];
      resolve();
    };
    stream.on('data', (chunk: Buffer | string) => push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.once('end', finish);
    stream.once('close', finish);
    // A read error ends the output; the exit code still tells what happened to the process.
    stream.once('error', finish);
  });
}
