// `repo serve --upload-token-file`: PUT of one repository file, written to a temp file and renamed, conditional on
// ETag (If-Match / If-None-Match: *), checked against the layout, the limits and, for versions.yaml, the zips it lists.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../common/errors.js';
import { DEFAULT_YAML_ALIASES, DEFAULT_YAML_BYTES } from '../common/yaml.js';
import { parseKeysYaml } from './keys.js';
import { classifyPath, LAYOUT_HELP, type RepositoryFile } from './layout.js';
import { pivotPath, zipPath } from './paths.js';
import { parsePivotYaml } from './pivot.js';
import { parseVersionsYaml, type VersionEntry } from './versions.js';
import { parseYankedYaml } from './yanked.js';

export interface UploadLimits {
  zipBytes: number;
  yamlBytes: number;
  yamlAliases: number;
}

const DEFAULT_UPLOAD_LIMITS: UploadLimits = { zipBytes: 100 * 1024 * 1024, yamlBytes: DEFAULT_YAML_BYTES, yamlAliases: DEFAULT_YAML_ALIASES };

/** A refusal: HTTP status and the reason sent back as text. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The entity tag of a file's bytes (strong: the sha256 of the content). */
export const etagOf = (data: Buffer): string => `"${createHash('sha256').update(data).digest('hex')}"`;

/** The current ETag of `file`, or null when it does not exist. */
async function fileEtag(file: string): Promise<string | null> {
  const data = await readFile(file).catch(() => null);
  return data === null ? null : etagOf(data);
}

/** A PUT handler for the repository rooted at `root` (already a real path). */
export function createUploadHandler(opts: { root: string; token: string; limits?: Partial<UploadLimits> }) {
  const limits = { ...DEFAULT_UPLOAD_LIMITS, ...opts.limits };
  const tokenHash = sha(opts.token);
  const locks = new Map<string, Promise<unknown>>();

  // One check-then-rename at a time per path: two conditional PUTs of one versions.yaml never both pass.
  function locked<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const run = (locks.get(path) ?? Promise.resolve()).catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    locks.set(path, tail);
    void tail.then(() => { if (locks.get(path) === tail) locks.delete(path); });
    return run;
  }

  return async function upload(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    let temp: string | undefined;
    try {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? sha(auth.slice(7)) : Buffer.alloc(32);
      if (!timingSafeEqual(given, tokenHash) || !auth.startsWith('Bearer ')) throw new Refusal(401, 'bad or missing token');
      const file = classifyPath(segments);
      if (!file) throw new Refusal(400, `${segments.join('/')}: outside the repository layout (${LAYOUT_HELP})`);
      const max = file.kind === 'zip' ? limits.zipBytes : limits.yamlBytes;
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) throw new Refusal(413, `${segments.join('/')}: ${declared} bytes, over the limit of ${max}`);
      const target = join(opts.root, ...segments);
      const parent = await safeParent(opts.root, target);
      temp = join(parent, `.upload-${randomBytes(6).toString('hex')}`);
      await receive(req, temp, max, segments.join('/'));
      const tempFile = temp;
      const etag = await locked(target, async () => {
        await checkPrecondition(req, target);
        const data = await readFile(tempFile);
        await checkContent(file, data, segments.join('/'), opts.root, target, limits);
        const fd = await open(tempFile, 'r');
        await fd.sync().finally(() => fd.close());
        await rename(tempFile, target);
        return etagOf(data);
      });
      temp = undefined;
      res.writeHead(201, { 'Content-Type': 'text/plain; charset=utf-8', ETag: etag });
      res.end('stored\n');
    } catch (error) {
      if (temp) await rm(temp, { force: true });
      if (!(error instanceof Refusal)) throw error;
      if (!req.complete) res.setHeader('Connection', 'close'); // the rest of the body is not read
      send(res, error.status, `${error.message}\n`);
    }
  };
}

// The parent folder of `target`, created if needed, never through a symlink out of the root.
async function safeParent(root: string, target: string): Promise<string> {
  let existing = dirname(target);
  while (!(await stat(existing).catch(() => null))) existing = dirname(existing);
  if (!(await insideRoot(root, existing))) throw new Refusal(404, 'not found');
  await mkdir(dirname(target), { recursive: true });
  const parent = await insideRoot(root, dirname(target));
  if (!parent) throw new Refusal(404, 'not found');
  return parent;
}

async function insideRoot(root: string, path: string): Promise<string | null> {
  const real = await realpath(path).catch(() => null);
  return real !== null && (real === root || real.startsWith(root + sep)) ? real : null;
}

// The body into `temp`; over `max` bytes is 413, a body cut short (client gone) is 400: the temp file is removed by the caller.
async function receive(req: IncomingMessage, temp: string, max: number, name: string): Promise<void> {
  let bytes = 0;
  let over = false;
  const cap = new Transform({
    transform(chunk: Buffer, _e, done) {
      bytes += chunk.length;
      over = bytes > max;
      done(over ? new Error('over the limit') : null, chunk);
    },
  });
  try {
    await pipeline(req, cap, createWriteStream(temp, { mode: 0o644 }));
  } catch (error) {
    if (over) throw new Refusal(413, `${name}: over the limit of ${max} bytes`);
    throw new Refusal(400, `${name}: upload failed: ${errorMessage(error)}`);
  }
}

async function checkPrecondition(req: IncomingMessage, target: string): Promise<void> {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) return;
  const current = await fileEtag(target);
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() === '*' && current !== null) throw new Refusal(412, 'the file exists (If-None-Match: *)');
  if (ifMatch !== undefined) {
    const wanted = ifMatch.split(',').map((t) => t.trim());
    if (current === null || (!wanted.includes('*') && !wanted.includes(current))) {
      throw new Refusal(412, `the file changed since it was read (ETag now ${current ?? 'none: absent'})`);
    }
  }
}

// yaml must parse as what its path says; a versions.yaml may list a version only once its zip (with that sha256) and pivot are there.
async function checkContent(file: RepositoryFile, data: Buffer, name: string, root: string, target: string, limits: UploadLimits): Promise<void> {
  const yamlLimits = { file: name, maxBytes: limits.yamlBytes, maxAliases: limits.yamlAliases };
  try {
    switch (file.kind) {
      case 'zip':
        return;
      case 'keys':
        parseKeysYaml(data.toString('utf8'), file.layer, yamlLimits);
        return;
      case 'pivot':
        parsePivotYaml(data.toString('utf8'), yamlLimits);
        return;
      case 'yanked':
        parseYankedYaml(data.toString('utf8'), yamlLimits);
        return;
      case 'versions': {
        const entries = parseVersionsYaml(data.toString('utf8'), yamlLimits);
        const before = await readFile(target, 'utf8').then((t) => parseVersionsYaml(t, { ...yamlLimits, file: `${name} (stored)` }), () => [] as VersionEntry[]);
        const known = new Map(before.map((e) => [e.version, e.sha256]));
        for (const e of entries) {
          if (known.has(e.version) && known.get(e.version) === e.sha256) continue;
          await checkListed(root, file.type, file.product, e);
        }
        return;
      }
    }
  } catch (error) {
    if (error instanceof Refusal) throw error;
    throw new Refusal(400, errorMessage(error));
  }
}

async function checkListed(root: string, type: string, product: string, e: VersionEntry): Promise<void> {
  const zip = join(root, ...zipPath(type, product, e.version).split('/'));
  const pivot = join(root, ...pivotPath(type, product, Number(e.version.split('.')[0])).split('/'));
  if (!(await stat(pivot).catch(() => null))?.isFile()) throw new Refusal(409, `version ${e.version} cannot be listed: its pivot ${pivotPath(type, product, Number(e.version.split('.')[0]))} is not uploaded`);
  const actual = await sha256File(zip).catch(() => null);
  if (actual === null) throw new Refusal(409, `version ${e.version} cannot be listed: its zip ${zipPath(type, product, e.version)} is not uploaded`);
  if (e.sha256 !== undefined && e.sha256 !== actual) {
    throw new Refusal(409, `version ${e.version} cannot be listed: versions.yaml says sha256 ${e.sha256}, the uploaded zip has ${actual}`);
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sha(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
