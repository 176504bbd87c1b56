// Unpack + verify throughput of a 50 MB package against `unzip` + `sha256sum` in the same run (goal ≥ 0.8×).
// Run alone: `node bench/unpack.mjs [--quick]` (needs `npm run build`).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import yazl from 'yazl';


// A package like a real one: many text files and incompressible assets, about `zipBytes` once zipped.
async function buildPackage(zipBytes) {
  const zip = new yazl.ZipFile();
  const text = Buffer.from('export function handler(payload) { return { ok: true, payload }; }\n'.repeat(64));
  let size = 0;
  let estimate = 0; // compressed size so far: random data stays as is, text shrinks about 100×
  let i = 0;
  zip.addBuffer(Buffer.alloc(1, 10), 'worker.mjs', { mtime: new Date(2000, 0, 1) });
  while (estimate < zipBytes) {
    const random = i % 3 !== 2;
    const data = random ? randomBytes(256 * 1024) : Buffer.concat([text, randomBytes(64)].concat(Array(60).fill(text)));
    zip.addBuffer(data, `lib/${String(i).padStart(4, '0')}.${random ? 'bin' : 'js'}`, { mtime: new Date(2000, 0, 1) });
    size += data.length;
    estimate += random ? data.length : data.length / 100;
    i += 1;
  }
  zip.end();
  const chunks = [];
  for await (const c of zip.outputStream) chunks.push(c);
  return { zip: Buffer.concat(chunks), unpacked: size, files: i + 1 };
}

async function timeOnce(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function hasTool(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Rows {name, value, unit, baseline, ratio, goal, met}: ratio = baseline time / our time (higher is better). */
export async function runUnpackBench({ quick = false } = {}) {
  const { verifyAndUnpack } = await import('../dist/packages/verify.js');
  const { DEFAULT_PACKAGE_LIMITS } = await import('../dist/packages/limits.js');
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-'));
  try {
    const mb = quick ? 10 : 50;
    const { zip, unpacked, files } = await buildPackage(mb * 1024 * 1024);
    const zipPath = join(dir, 'pkg.zip');
    writeFileSync(zipPath, zip);
    const sha256 = createHash('sha256').update(zip).digest('hex');
    const runs = quick ? 2 : 4;
    const tools = hasTool('unzip') && hasTool('sha256sum');
    // Interleaved runs, best of each: both sides see the same disk and cache conditions.
    let ours = Infinity;
    let baseline = tools ? Infinity : null;
    for (let r = 0; r < runs; r += 1) {
      ours = Math.min(ours, await timeOnce(() => verifyAndUnpack({ zipPath, dir: join(dir, `ours-${r}`), limits: DEFAULT_PACKAGE_LIMITS, sha256 })));
      if (tools) {
        baseline = Math.min(baseline, await timeOnce(() => {
          execFileSync('sha256sum', [zipPath], { stdio: 'ignore' });
          execFileSync('unzip', ['-q', '-o', zipPath, '-d', join(dir, `unzip-${r}`)], { stdio: 'ignore' });
        }));
      }
      rmSync(join(dir, `ours-${r}`), { recursive: true, force: true });
      rmSync(join(dir, `unzip-${r}`), { recursive: true, force: true });
    }
    const ratio = baseline === null ? null : +(baseline / ours).toFixed(2);
    const name = `unpack+verify ${mb} MB package (${files} files, ${(zip.length / 1048576).toFixed(1)} MB zipped)`;
    return [
      { name, value: +ours.toFixed(1), unit: 'ms', baseline: baseline === null ? null : +baseline.toFixed(1), ratio, goal: 0.8, met: ratio === null ? null : ratio >= 0.8 },
      { name: 'unpack+verify throughput (unpacked MB/s)', value: +((unpacked / 1048576) / (ours / 1000)).toFixed(1), unit: 'MB/s', baseline: baseline === null ? null : +((unpacked / 1048576) / (baseline / 1000)).toFixed(1), ratio, goal: 0.8, met: ratio === null ? null : ratio >= 0.8 },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runUnpackBench({ quick: process.argv.includes('--quick') });
  console.table(rows);
}
