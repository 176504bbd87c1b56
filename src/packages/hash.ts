// sha256 of a file, streamed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The lower-case hex sha256 of the file at `path`. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
