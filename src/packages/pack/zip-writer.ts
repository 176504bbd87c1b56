// Deterministic zips: sorted paths, fixed DOS timestamp and modes, no extended timestamp (same input → same bytes).
import yazl from 'yazl';

/** One file to put in the zip. */
export interface ZipInput {
  path: string;
  data: Buffer;
  executable: boolean;
}

// A local-time date: yazl encodes DOS time from local fields, so this gives the same bytes in every time zone.
const FIXED_MTIME = (): Date => new Date(2000, 0, 1, 0, 0, 0);

/** The zip bytes of `files`, identical for identical input. */
export async function deterministicZip(files: readonly ZipInput[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  for (const f of sorted) {
    zip.addBuffer(f.data, f.path, {
      mtime: FIXED_MTIME(),
      mode: f.executable ? 0o100755 : 0o100644,
      compress: true,
      compressionLevel: 9,
      forceDosTimestamp: true,
    });
  }
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
  zip.end();
  return done;
}
