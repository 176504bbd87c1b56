#!/usr/bin/env node
// Checks that every relative link of README.md, BENCHMARKS.md and docs/*.md resolves to a file (and #anchor) inside the repository.
// Usage: node scripts/check-links.mjs [--root DIR] [FILE.md…]; exits 1 and lists each bad link, 0 when all resolve.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading keeps its text
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .trim();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** The lines of a Markdown text outside fenced code blocks, with their numbers. */
function proseLines(text) {
  const out = [];
  let fence;
  text.split('\n').forEach((line, index) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === undefined) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line: line.replace(/`+[^`]*`+/g, (code) => ' '.repeat(code.length)), number: index + 1 });
  });
  return out;
}

/** Every anchor a Markdown file offers (duplicated headings get -1, -2… as on GitHub). */
export function anchorsOf(text) {
  const seen = new Map();
  const anchors = new Set();
  let fence;
  for (const line of text.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === undefined) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = undefined;
      continue;
    }
    const heading = fence === undefined ? /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line) : null;
    if (!heading) continue;
    const base = slug(heading[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

const INLINE = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
const DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/;
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i; // http:, https:, mailto:… (a Windows drive letter is not a concern here)

/** The problems of one Markdown file's links: `{file, line, target, problem}`. */
export function checkFile(file, root) {
  const text = readFileSync(file, 'utf8');
  const problems = [];
  const report = (number, target, problem) => problems.push({ file: relative(root, file), line: number, target, problem });
  for (const { line, number } of proseLines(text)) {
    const targets = [...line.matchAll(INLINE)].map((m) => m[1]);
    const definition = DEFINITION.exec(line);
    if (definition) targets.push(definition[1]);
    for (const target of targets) {
      if (target === '') {
        report(number, target, 'empty link');
        continue;
      }
      if (/^(https?|mailto):/i.test(target)) continue;
      if (EXTERNAL.test(target)) {
        report(number, target, 'links outside the repository (only http(s), mailto and relative links are allowed)');
        continue;
      }
      const [pathPart, anchor] = splitAnchor(target);
      let path;
      try {
        path = decodeURIComponent(pathPart);
      } catch {
        report(number, target, 'bad percent-encoding');
        continue;
      }
      const resolved = path === '' ? file : isAbsolute(path) ? join(root, path) : resolve(dirname(file), path);
      const inside = relative(root, resolved);
      if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
        report(number, target, 'points outside the repository');
        continue;
      }
      if (!existsSync(resolved)) {
        report(number, target, `${inside || '.'} does not exist`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        const anchors = anchorsOf(readFileSync(resolved, 'utf8'));
        if (!anchors.has(decodeURIComponent(anchor))) report(number, target, `no heading #${anchor} in ${inside}`);
      }
    }
  }
  return problems;
}

function splitAnchor(target) {
  const at = target.indexOf('#');
  return at === -1 ? [target, undefined] : [target.slice(0, at), target.slice(at + 1)];
}

/** README.md, BENCHMARKS.md and every .md file of docs/. */
export function defaultFiles(root) {
  const docs = join(root, 'docs');
  const files = [join(root, 'README.md'), join(root, 'BENCHMARKS.md')];
  if (existsSync(docs)) files.push(...readdirSync(docs).filter((n) => n.endsWith('.md')).sort().map((n) => join(docs, n)));
  return files.filter((f) => existsSync(f));
}

function main(argv) {
  let root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') root = resolve(argv[++i] ?? '.');
    else files.push(resolve(argv[i]));
  }
  const list = files.length > 0 ? files : defaultFiles(root);
  const problems = list.flatMap((file) => checkFile(file, root));
  for (const p of problems) process.stderr.write(`${p.file}:${p.line}: ${p.target}: ${p.problem}\n`);
  process.stdout.write(`check-links: ${list.length} files, ${problems.length} broken link${problems.length === 1 ? '' : 's'}\n`);
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
