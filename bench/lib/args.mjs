// Command line of bench/run.mjs: --quick, --only=a,b (ids of benchmarks); anything else is refused by name.

/** Parses argv; `only` defaults to every id. */
export function parseArgs(argv, ids) {
  let quick = false;
  let only = ids;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) {
      only = arg.slice('--only='.length).split(',').filter(Boolean);
      const unknown = only.filter((id) => !ids.includes(id));
      if (unknown.length > 0) throw new Error(`bench: unknown benchmark ${unknown.join(', ')} (known: ${ids.join(', ')})`);
    } else throw new Error(`bench: unknown argument ${arg} (use --quick, --only=${ids.join(',')})`);
  }
  return { quick, only };
}

/** One line for an error in a results row. */
export const errorText = (error) => String(error?.message ?? error).split('\n')[0];
