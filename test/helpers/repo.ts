// Test helpers for repository and package tests: temp dirs, source trees, zips built or patched in memory, servers on port 0.
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import yazl from 'yazl';

/** Collects cleanups so afterEach can run them all, even after a failed test. */
export function createCleanup(): { add(fn: () => Promise<unknown> | unknown): void; run(): Promise<void> } {
  const fns: Array<() => Promise<unknown> | unknown> = [];
  return {
    add: (fn) => void fns.push(fn),
    async run() {
      for (const fn of fns.splice(0).reverse()) await Promise.resolve().then(fn).catch(() => undefined);
    },
  };
}

/** A fresh temp dir `wa-…`, removed by the cleanup. */
export function tempDir(cleanup: ReturnType<typeof createCleanup>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-'));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (relative path → text, or {data, mode}) under `root`. */
export async function writeTree(root: string, files: Record<string, string | { data: string | Buffer; mode: number }>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    if (typeof content === 'string') await writeFile(path, content);
    else {
      await writeFile(path, content.data);
      await chmod(path, content.mode);
    }
  }
}

/** A worker.mjs with no imports (bundles fast, needs no SDK). */
const PLAIN_WORKER = "// test worker\nconst line = 'ok';\nexport default line;\n";

/** A small `connectors/`-style tree for utils/demo: keys at four layers, a pivot, versions given as major.minor. */
export async function writeDemoSource(root: string, versions: string[] = ['1.0', '1.2']): Promise<void> {
  const files: Record<string, string> = {
    'utils/keys.yaml': '- name: port\n  type: integer\n  default: 1\n- name: color\n  type: string\n  default: red\n',
    'utils/demo/keys.yaml': '- name: greeting\n  type: string\n  mandatory: true\n- name: api_key\n  type: string\n  secret: true\n  default: s3cret\n',
    'utils/demo/1_configuration.yaml': 'commands:\n  - name: ECHO\n    schema: { type: object }\nevents:\n  - name: ECHOED\n',
    'utils/demo/1/keys.yaml': '- name: verbose\n  type: boolean\n  default: false\n',
  };
  for (const v of versions) {
    const [major, minor] = v.split('.');
    files[`utils/demo/${major}/${minor}/keys.yaml`] = `- name: port\n  type: integer\n  default: ${8000 + Number(minor)}\n`;
    files[`utils/demo/${major}/${minor}/worker/worker.mjs`] = `${PLAIN_WORKER}// version ${v}\n`;
  }
  await writeTree(root, files);
}

/** One file of a test zip; `mode` is the full unix mode (type bits included). */
export interface TestZipFile {
  name: string;
  data: Buffer | string;
  mode?: number;
}

/** Zip bytes from yazl (Unix-made, so mode bits are read back). */
export async function makeZip(files: TestZipFile[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const f of files) {
    zip.addBuffer(Buffer.from(f.data), f.name, { mode: f.mode ?? 0o100644, mtime: new Date(2000, 0, 1), forceDosTimestamp: true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Replaces every occurrence of `from` by `to` (same length): names yazl refuses to write (`../x`, `/abs`). */
export function patchBytes(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('patchBytes: same length needed');
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  let at = out.indexOf(needle);
  if (at === -1) throw new Error(`patchBytes: ${from} not found`);
  while (at !== -1) {
    Buffer.from(to).copy(out, at);
    at = out.indexOf(needle, at + 1);
  }
  return out;
}

/** A scripted HTTP server on 127.0.0.1:0, closed (connections included) by the cleanup. */
export async function scriptedServer(
  cleanup: ReturnType<typeof createCleanup>,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, hits };
}

/** A sleep that does not wait (retries in tests run at once). */
export const noSleep = async (): Promise<void> => undefined;
