// A connectors/ source tree holding `bench/big` 1.0: the echo worker plus an incompressible blob, about `bytes` zipped.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.mjs';

const PIVOT = `commands:
  - name: ECHO
    schema: { type: object }
  - name: SLOW
    schema: { type: object }
events:
  - name: ECHOED
    schema: { type: object }
`;

/**
 * Writes the tree under `srcDir`. The version folder has an executable \`worker\` (kept as is by \`pack\`,
 * with every file beside it) that execs node on the bundled utils/echo 1.0 worker.
 */
export async function writeBigSource(srcDir, bytes = 5 * 1024 * 1024) {
  const { bundleWorker } = await import('../../dist/packages/pack/bundle.js');
  const bundle = await bundleWorker(join(ROOT, 'connectors/utils/echo/1/0/worker'), 'worker.ts');
  const product = join(srcDir, 'bench', 'big');
  const workerDir = join(product, '1', '0', 'worker');
  mkdirSync(workerDir, { recursive: true });
  writeFileSync(join(product, '1_configuration.yaml'), PIVOT);
  writeFileSync(join(workerDir, 'main.mjs'), bundle);
  writeFileSync(join(workerDir, 'worker'), `#!/bin/sh\nexec ${process.execPath} "$(dirname "$0")/main.mjs" "$@"\n`);
  chmodSync(join(workerDir, 'worker'), 0o755);
  writeFileSync(join(workerDir, 'blob.bin'), randomBytes(Math.max(0, bytes - Math.round(bundle.length / 4))));
  return { type: 'bench', product: 'big', version: '1.0' };
}
