// Shared option parsing for subcommands: node's parseArgs with a usage error that names the option.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** What parseCommandLine returns: option values by name, and positionals. */
interface CommandLine {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** A bad command line: exit code 2, message names the option. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` against `options` (strict); unknown options and missing values are UsageErrors. */
export function parseCommandLine(argv: string[], options: Options, usage: string): CommandLine {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: worker-admin ${usage}`);
  }
}
