// What PM2 runs in the scale baseline: the same bundled echo worker.mjs, its stdin line (token, config) taken from
// the file BENCH_LINES by PM2's NODE_APP_INSTANCE, since PM2 cannot write a start line to a process's stdin.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const lines = JSON.parse(readFileSync(process.env.BENCH_LINES, 'utf8'));
const line = lines[Number(process.env.NODE_APP_INSTANCE ?? 0)];
Object.defineProperty(process, 'stdin', { value: Readable.from([`${line}\n`]), configurable: true });
await import(pathToFileURL(process.env.BENCH_WORKER).href);
