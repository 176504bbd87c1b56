// `worker-admin init TYPE/PRODUCT [--lang ts|python|exec] [--dir connectors] [--config config/admin.yaml]`.
import { probePython, PYTHON_INSTALL_HINT } from '../admin/python-runtime.js';
import { initConnector } from '../scaffold/init.js';
import type { ScaffoldLang } from '../scaffold/templates.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'init TYPE/PRODUCT [--lang ts|python|exec] [--dir connectors] [--config config/admin.yaml]';

/** Scaffolds the connector, registers it, and prints what to run next. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { lang: { type: 'string' }, dir: { type: 'string' }, config: { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected TYPE/PRODUCT\nusage: worker-admin ${USAGE}`);
  const lang = String(values['lang'] ?? 'ts') as ScaffoldLang;
  const result = await initConnector({
    name: positionals[0]!, lang, dir: String(values['dir'] ?? 'connectors'), config: String(values['config'] ?? 'config/admin.yaml'),
  });
  const out = process.stdout;
  out.write(`created ${result.folder} (${lang}): command ${result.command}\n`);
  for (const f of result.files) out.write(`  ${f}\n`);
  const ref = `${result.type}/${result.product}`;
  if (result.registration.result === 'added') out.write(`registered ${ref} in ${result.registration.file}: npm start runs it\n`);
  else out.write(`not registered (${result.registration.why}); once the stack runs, start it with:\n  npx worker-admin send ADMIN_START_WORKER '${JSON.stringify({ product: ref })}'\n`);
  if (lang !== 'ts' && !(await probePython()).found) out.write(`note: no python3 with grpcio here (${PYTHON_INSTALL_HINT}): up will skip ${ref}\n`);
  out.write(`try: npx worker-admin send ${result.command} '{"name":"you"}'\n`);
  return 0;
}
