// `up` starts a configured connector only when its runtime is here: a Python connector (worker.py) needs a python3
// that can import grpc (or its `python:` setting); Node connectors always run. The others are skipped, saying why.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pythonProblem } from '../admin/python-runtime.js';
import type { ConnectorConfig } from '../config/types.js';

/** A configured connector `up` does not start, and why. */
export interface SkippedConnector {
  product: string;
  reason: string;
}

/** True when some version of `type/product` in one of the source trees is a Python worker. */
function isPythonConnector(sources: readonly string[], type: string, product: string): boolean {
  for (const src of sources) {
    const dir = resolve(src, type, product);
    for (const major of subdirs(dir)) {
      for (const minor of subdirs(join(dir, major))) {
        const worker = join(dir, major, minor, 'worker');
        if (existsSync(join(worker, 'worker.py')) && !existsSync(join(worker, 'worker.ts')) && !existsSync(join(worker, 'worker.mjs'))) return true;
      }
    }
  }
  return false;
}

/** The connectors of `connectors` whose runtime is missing here, with the reason (and the install command). */
export async function connectorsWithoutRuntime(
  connectors: readonly ConnectorConfig[], sources: readonly string[], python: () => Promise<string | undefined> = pythonProblem,
): Promise<SkippedConnector[]> {
  const skipped: SkippedConnector[] = [];
  for (const c of connectors) {
    if (c.python !== undefined || !isPythonConnector(sources, c.type, c.product)) continue;
    const problem = await python();
    if (problem) skipped.push({ product: c.ref, reason: `Python connector: ${problem}` });
  }
  return skipped;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => e.name);
  } catch {
    return [];
  }
}
