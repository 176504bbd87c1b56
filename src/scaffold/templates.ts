// What `worker-admin init` writes for a new connector: keys, a pivot with one command, and a worker per language.
import { PYTHON_LAUNCHER } from '../packages/pack/python-entry.js';

/** The languages `init` scaffolds: a bundled TypeScript worker, a Python one, or any executable `worker`. */
export type ScaffoldLang = 'ts' | 'python' | 'exec';
export const SCAFFOLD_LANGS: readonly ScaffoldLang[] = ['ts', 'python', 'exec'];

/** The command a new product serves: its name in upper case (`weather` → WEATHER, `my-api` → MY_API). */
export function commandName(product: string): string {
  return product.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** One file of the scaffold, relative to the connectors folder. */
interface ScaffoldFile {
  path: string;
  text: string;
  executable?: boolean;
}

/** Every file of a new `type/product` in `lang` (the exec flavour also needs the Python SDK copied: see init.ts). */
export function scaffoldFiles(type: string, product: string, lang: ScaffoldLang): ScaffoldFile[] {
  const command = commandName(product);
  const base = `${type}/${product}`;
  const worker = `${base}/1/0/worker`;
  const files: ScaffoldFile[] = [
    { path: `${base}/keys.yaml`, text: keysYaml(type, product) },
    { path: `${base}/1_configuration.yaml`, text: pivotYaml(command) },
  ];
  if (lang === 'ts') files.push({ path: `${worker}/worker.ts`, text: tsWorker(type, product, command) });
  if (lang === 'python') files.push({ path: `${worker}/worker.py`, text: pythonWorker(type, product, command) });
  if (lang === 'exec') {
    files.push({ path: `${worker}/main.py`, text: pythonWorker(type, product, command) });
    files.push({ path: `${worker}/worker`, text: PYTHON_LAUNCHER.replace(/worker\.py/g, 'main.py').replace('# Written by worker-admin pack', '# Written by worker-admin init'), executable: true });
  }
  return files;
}

const keysYaml = (type: string, product: string): string => `# Layer 2 (product "${product}" of type "${type}"): the keys its workers get on stdin (docs/repository.md).
- name: greeting
  type: string
  default: hello
  description: The word the worker greets with
`;

const pivotYaml = (command: string): string => `# The pivot of major 1: every version 1.x must serve these commands (a new command is a new major).
commands:
  - name: ${command}
    schema:
      type: object
      properties:
        name: { type: string, maxLength: 200 }
events: []
`;

const tsWorker = (type: string, product: string, command: string): string => `// ${type}/${product} 1.0: ${command} {name?} → {greeting}. Scaffolded by \`worker-admin init\` (docs/workers.md).
import { startWorker } from 'worker-admin/sdk';

// Set once startWorker resolves; a handler running earlier sees undefined instead of a TDZ error.
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;

worker = await startWorker({
  commands: {
    ${command}: async (payload) => {
      const name = (payload as { name?: string } | null)?.name ?? 'world';
      return { greeting: \`\${String(worker?.config['greeting'] ?? 'hello')}, \${name}\` };
    },
  },
});
`;

const pythonWorker = (type: string, product: string, command: string): string => `"""${type}/${product} 1.0: ${command} {name?} -> {greeting}. Scaffolded by \`worker-admin init\` (docs/workers.md)."""
from worker_admin import start_worker


async def ${command.toLowerCase()}(payload, ctx):
    name = (payload or {}).get("name", "world")
    return {"greeting": f"{ctx.worker.config.get('greeting', 'hello')}, {name}"}


start_worker(commands={"${command}": ${command.toLowerCase()}})
`;
