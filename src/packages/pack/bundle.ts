// Bundles a worker entry (worker.ts / worker.mjs) with everything it imports, the SDK included, into one ESM file.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildResult, Message, Plugin } from 'esbuild';
import { WorkerAdminError } from '../../common/errors.js';

// grpc-js and friends call require('fs') etc.; an ESM bundle has no `require` unless the banner makes one.
const BANNER = "import { createRequire as __waCreateRequire } from 'node:module';\nconst require = __waCreateRequire(import.meta.url);";

/** This package's built SDK: dist/sdk/index.js next to the running code (or from the repo root when run from src/). */
export function sdkEntryPath(): string {
  const candidates = [new URL('../../sdk/index.js', import.meta.url), new URL('../../../dist/sdk/index.js', import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new WorkerAdminError('INTERNAL', `the worker SDK is not built (looked for ${candidates.map((u) => fileURLToPath(u)).join(', ')}): run npm run build`);
}

/** The entry file of a worker folder, if it is a JS/TS worker. */
export function findEntry(workerDir: string): string | null {
  for (const name of ['worker.ts', 'worker.mjs']) {
    if (existsSync(join(workerDir, name))) return name;
  }
  return null;
}

let sessions = 0;

/**
 * Runs `fn` (which bundles workers), then stops esbuild's service once no other session is running: the service
 * keeps a reply buffer twice the size of the largest bundle (about 8 MB for an SDK worker) for as long as it lives.
 * A bundleWorker call outside any session must not overlap the end of one.
 */
export async function withBundler<T>(fn: () => Promise<T>): Promise<T> {
  sessions += 1;
  try {
    return await fn();
  } finally {
    sessions -= 1;
    const esbuild = await loaded?.catch(() => undefined);
    if (sessions === 0) await esbuild?.stop(); // a later bundle starts a new service
  }
}

// Set by the first bundle: a process that never bundles never loads esbuild.
let loaded: Promise<typeof import('esbuild')> | undefined;

/** The version of the esbuild that bundles (loads its JS API, not its service). */
export async function esbuildVersion(): Promise<string> {
  return (await (loaded ??= import('esbuild'))).version;
}

/** One ESM file for node20: `worker-admin/sdk` resolved to this package's SDK, paths relative to `workerDir`. */
export async function bundleWorker(workerDir: string, entry: string): Promise<Buffer> {
  return (await bundleWorkerWithInputs(workerDir, entry)).code;
}

/** bundleWorker, plus the absolute path of every file esbuild read into the bundle (its metafile inputs), sorted. */
export async function bundleWorkerWithInputs(workerDir: string, entry: string): Promise<{ code: Buffer; inputs: string[] }> {
  // Loaded here, not at the top: a process that never packs (admin, router) does not carry esbuild's memory.
  const esbuild = await (loaded ??= import('esbuild'));
  const sdkPlugin: Plugin = {
    name: 'worker-admin-sdk',
    setup(build) {
      build.onResolve({ filter: /^worker-admin\/sdk$/ }, () => ({ path: sdkEntryPath() }));
    },
  };
  let result: BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: workerDir,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      write: false,
      metafile: true, // the inputs only: the output bytes are the same with or without it
      outfile: 'worker.mjs',
      banner: { js: BANNER },
      plugins: [sdkPlugin],
      legalComments: 'none',
      sourcemap: false,
      logLevel: 'silent',
      charset: 'utf8',
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    throw new WorkerAdminError('CONFIG_INVALID', `${join(workerDir, entry)}: bundle failed: ${where}${first?.text ?? (error as Error).message}`, { cause: error });
  }
  const out = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  if (!out) throw new WorkerAdminError('INTERNAL', `${join(workerDir, entry)}: esbuild produced no worker.mjs`);
  const inputs = Object.keys(result.metafile.inputs).map((path) => resolve(workerDir, path)).sort();
  return { code: Buffer.from(out.contents), inputs };
}
