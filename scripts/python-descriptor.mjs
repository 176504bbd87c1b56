// Writes the Python SDK's message types (sdk/python/worker_admin/router.desc): a FileDescriptorSet of proto/, so the
// Python side builds its classes from the same contract as the Node side (no generated code, no grpcio-tools).
// `--check` writes nothing and exits 1 when the checked-in file differs from what proto/ gives (CI runs it).
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const protoDir = join(root, 'proto');
const target = join(root, 'sdk', 'python', 'worker_admin', 'router.desc');

const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.proto')) files.push(p);
  }
};
walk(protoDir);

/** The descriptor set bytes of every .proto under proto/ (one file per package, type names fully qualified). */
export function descriptorSetBytes() {
  const tree = new protobuf.Root();
  for (const f of files) protobuf.parse(readFileSync(f, 'utf8'), tree, { keepCase: true, alternateCommentMode: true });
  tree.resolveAll();
  const set = tree.toDescriptor('proto3');
  for (const file of set.file) {
    file.name = `${relative(protoDir, files[0]).split('\\').join('/')}`;
    file.syntax = 'proto3';
    const qualify = (messages, scope) => {
      for (const m of messages) {
        const own = `${scope}.${m.name}`;
        for (const field of m.field) {
          if (field.options && !field.options.packed) delete field.options; // protobufjs's packed=false on every field
          const entry = (m.nestedType ?? []).find((n) => n.options?.mapEntry && n.name === field.typeName);
          if (entry) {
            // a map's entry type is named as protoc names it: field `command_schemas` → CommandSchemasEntry
            entry.name = `${field.name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Entry`;
            field.typeName = `${own}.${entry.name}`;
          } else if (field.typeName && !field.typeName.startsWith('.')) field.typeName = resolveName(field.typeName, own);
        }
        qualify(m.nestedType ?? [], own);
      }
    };
    qualify(file.messageType, `.${file.package}`);
    for (const service of file.service ?? []) {
      for (const method of service.method) {
        method.inputType = resolveName(method.inputType, `.${file.package}`);
        method.outputType = resolveName(method.outputType, `.${file.package}`);
      }
    }
  }
  if (set.file.length !== 1) throw new Error(`expected one proto package under proto/, found ${set.file.length}`);
  return Buffer.from(descriptor.FileDescriptorSet.encode(set).finish());

  // protobufjs writes names relative to the scope; Python's pool wants `.package.Type`
  function resolveName(name, scope) {
    if (name.startsWith('.')) return name;
    const parts = scope.split('.');
    while (parts.length > 1) {
      const full = `${parts.join('.')}.${name}`;
      if (tree.lookup(full.slice(1))) return full;
      parts.pop();
    }
    return `.${name}`;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = descriptorSetBytes();
  let old = null;
  try { old = readFileSync(target); } catch {}
  if (process.argv.includes('--check')) {
    if (!old || !old.equals(bytes)) {
      process.stderr.write(`${relative(root, target)} does not match proto/: run node scripts/python-descriptor.mjs and commit it\n`);
      process.exit(1);
    }
  } else if (!old || !old.equals(bytes)) writeFileSync(target, bytes);
}
