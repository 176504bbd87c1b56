// The Python SDK's message types match proto/: the checked-in descriptor set is what the build writes from proto/,
// and the classes Python builds from it have the same messages, fields, numbers and types as the Node side's.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PROTO_FILES } from '../../src/proto/embedded.js';
import { ROOT } from '../helpers/stack.js';
import { PYTHON, SKIP_REASON } from './harness.js';

const run = promisify(execFile);

/** Every message of proto/ as {message: {field: [number, type, repeated]}}, as protobufjs reads the .proto text. */
function nodeView(): Record<string, Record<string, [number, string, boolean]>> {
  const root = new protobuf.Root();
  for (const text of Object.values(PROTO_FILES)) protobuf.parse(text, root, { keepCase: true });
  root.resolveAll();
  const ns = root.lookup('workeradmin.v1') as protobuf.Namespace;
  const out: Record<string, Record<string, [number, string, boolean]>> = {};
  for (const type of ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type)) {
    out[type.name] = Object.fromEntries(type.fieldsArray.map((f) => {
      const kind = f instanceof protobuf.MapField
        ? `workeradmin.v1.${type.name}.${f.name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Entry`
        : f.resolvedType ? f.resolvedType.fullName.slice(1) : f.type;
      return [f.name, [f.id, kind, f.repeated || f.map]];
    }));
  }
  return out;
}

describe('Python message types against proto/', () => {
  it('the checked-in router.desc is what proto/ gives (node scripts/python-descriptor.mjs --check)', async () => {
    await expect(run(process.execPath, [join(ROOT, 'scripts/python-descriptor.mjs'), '--check'])).resolves.toBeDefined();
  });

  it.skipIf(!PYTHON)(`Python's classes have the messages and fields of proto/${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, async () => {
    const { stdout } = await run(PYTHON!, ['-B', '-m', 'worker_admin', '--describe'], { cwd: join(ROOT, 'sdk/python') });
    const python = JSON.parse(stdout) as Record<string, unknown>;
    expect(python).toEqual(nodeView());
    expect(Object.keys(python)).toEqual(expect.arrayContaining(['Hello', 'Command', 'Reply', 'Event', 'WorkerMessage', 'RouterMessage']));
  });

  it.skipIf(!PYTHON)('python3 -m worker_admin --version prints the SDK version', async () => {
    const { stdout } = await run(PYTHON!, ['-B', '-m', 'worker_admin', '--version'], { cwd: join(ROOT, 'sdk/python') });
    const pkg = JSON.parse((await import('node:fs')).readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
  });
});
