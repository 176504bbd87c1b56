// Checks one zip entry's name and mode before anything is written (zip slip, symlinks, devices).
import { quoteName } from '../common/names.js';

/** What an entry is once checked, or why it is refused. */
type EntryCheck =
  | { kind: 'file'; segments: string[]; executable: boolean }
  | { kind: 'directory'; segments: string[] }
  | { kind: 'refused'; rule: string };

const S_IFMT = 0o170000;
const FILE_TYPES: Record<number, string | null> = {
  0o100000: null, // regular file
  0o040000: null, // directory
  0o120000: 'symbolic link',
  0o020000: 'character device',
  0o060000: 'block device',
  0o010000: 'named pipe',
  0o140000: 'socket',
};
const UNIX_MADE_BY = 3;

/** Classifies an entry from its decoded name and its attributes; `name` is the raw decoded name. */
export function checkEntry(name: string, externalFileAttributes: number, versionMadeBy: number): EntryCheck {
  if (name.length === 0) return { kind: 'refused', rule: 'empty name' };
  if (name.includes('\\')) return { kind: 'refused', rule: 'backslash in the name (Windows path separator; `..\\` zip slip)' };
  if (/[\0-\x1f\x7f]/.test(name)) return { kind: 'refused', rule: 'control character in the name' };
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return { kind: 'refused', rule: 'absolute path' };
  const isDir = name.endsWith('/');
  const segments = (isDir ? name.slice(0, -1) : name).split('/');
  if (segments.includes('..')) return { kind: 'refused', rule: 'parent directory `..` in the path (zip slip)' };
  if (segments.some((s) => s === '' || s === '.')) return { kind: 'refused', rule: 'empty or `.` path segment' };
  if (segments.some((s) => Buffer.byteLength(s) > 255)) return { kind: 'refused', rule: 'path segment over 255 bytes' };
  // Mode bits are only meaningful in zips made on Unix (made-by host 3).
  const mode = (versionMadeBy >> 8) === UNIX_MADE_BY ? externalFileAttributes >>> 16 : 0;
  const fileType = mode & S_IFMT;
  if (fileType !== 0) {
    const special = FILE_TYPES[fileType];
    if (special === undefined) return { kind: 'refused', rule: `unknown file type 0o${fileType.toString(8)}` };
    if (special !== null) return { kind: 'refused', rule: `${special} entries are not allowed` };
    if (fileType === 0o040000 && !isDir) return { kind: 'directory', segments };
  }
  if (isDir) return { kind: 'directory', segments };
  return { kind: 'file', segments, executable: (mode & 0o111) !== 0 };
}

/** An entry name quoted for an error message. */
export const entryLabel = (name: string): string => quoteName(name);
