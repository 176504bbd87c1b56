// scripts/check-links.mjs as CI runs it, on a small repository built in a temp dir: what resolves passes, the rest is named.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/stack.js';

const SCRIPT = join(ROOT, 'scripts', 'check-links.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A repository folder (inside a parent, so `../` past its root has somewhere to point) with these files. */
function repo(files: Record<string, string>): string {
  const parent = mkdtempSync(join(tmpdir(), 'wa-links-'));
  dirs.push(parent);
  writeFileSync(join(parent, 'OUTSIDE.md'), '# outside\n');
  const root = join(parent, 'repo');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(root: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, '--root', root], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('check-links', () => {
  it('passes links to files, folders and headings inside the repository, and external URLs', async () => {
    const root = repo({
      'README.md': [
        '# Project', 'See [the guide](docs/guide.md), [its setup](docs/guide.md#set-up-in-2-steps), [code](src/a.ts),',
        '[the source](src), [top](#project), [a site](https://example.org/x) and [mail](mailto:a@example.org).',
        '```', '[inside a code block](nowhere.md)', '```', 'and `[inline code](nowhere.md)`.', '',
      ].join('\n'),
      'docs/guide.md': '# Guide\n\n## Set up, in 2 steps!\n\n## `${VAR}`: values\n\nBack to [the readme](../README.md#project) and [vars](#var-values).\n[ref]: ../src/a.ts\n',
      'src/a.ts': 'export {};\n',
    });
    const result = await check(root);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('check-links: 2 files, 0 broken links\n');
    expect(result.code).toBe(0);
  });

  it('names each link that is missing, has no such heading, or leaves the repository', async () => {
    const root = repo({
      'README.md': '# Project\n\n[gone](docs/missing.md) and [no heading](docs/guide.md#nope)\n',
      'docs/guide.md': '# Guide\n\n[outside](../../OUTSIDE.md), [absolute](file:///etc/passwd), [self](#absent)\n[ref]: ../../OUTSIDE.md\n',
    });
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').sort()).toEqual([
      'README.md:3: docs/guide.md#nope: no heading #nope in docs/guide.md',
      'README.md:3: docs/missing.md: docs/missing.md does not exist',
      'docs/guide.md:3: #absent: no heading #absent in docs/guide.md',
      'docs/guide.md:3: ../../OUTSIDE.md: points outside the repository',
      'docs/guide.md:3: file:///etc/passwd: links outside the repository (only http(s), mailto and relative links are allowed)',
      'docs/guide.md:4: ../../OUTSIDE.md: points outside the repository',
    ]);
    expect(result.stdout).toBe('check-links: 2 files, 6 broken links\n');
  });
});
