// Splits a child's output stream into lines without ever holding more than one (capped) line in memory.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Longest line kept whole; a longer run without a newline is cut into pieces of this size. */
const MAX_LINE_CHARS = 64 * 1024;

/** Calls `onLine` for each line of `stream` (no trailing \r\n); resolves when the stream ends or closes. */
export function readLines(stream: Readable, onLine: (line: string) => void, maxLineChars = MAX_LINE_CHARS): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (line: string): void => {
    try {
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch {
      // A failing log sink must not stop the stream: the child would block on a full pipe.
    }
  };
  const push = (text: string): void => {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      emit(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    while (pending.length > maxLineChars) {
      emit(pending.slice(0, maxLineChars));
      pending = pending.slice(maxLineChars);
    }
  };
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      push(decoder.end());
      if (pending.length > 0) emit(pending);
      pending = '';
      resolve();
    };
    stream.on('data', (chunk: Buffer | string) => push(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
    stream.once('end', finish);
    stream.once('close', finish);
    // A read error ends the output; the exit code still tells what happened to the process.
    stream.once('error', finish);
  });
}
