// `${VAR}` substitution in every string value of the admin config; an unset variable is an error, never a literal.

/** Where a substitution failed: the field path and why. */
interface SubstitutionProblem {
  field: string;
  reason: string;
}

const REFERENCE_RE = /\$\$|\$\{([^}]*)\}|\$\{/g;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const EXACT_REFERENCE_RE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/** True when `value` is exactly one `${VAR}` reference (what a secret may be written as outside the host). */
export function isEnvReference(value: unknown): boolean {
  return typeof value === 'string' && EXACT_REFERENCE_RE.test(value);
}

/** Why the `${VAR}` references of `text` are malformed, or undefined: the syntax alone, no variable looked up. */
export function referenceProblem(text: string): string | undefined {
  const result = substituteString(text, () => '');
  return 'reason' in result ? result.reason : undefined;
}

/** Replaces `${VAR}` in one string; `$$` is a literal `$`. Returns the text or the problem. */
function substituteString(text: string, lookup: (name: string) => string | undefined): { value: string } | { reason: string } {
  let problem: string | undefined;
  const value = text.replace(REFERENCE_RE, (match: string, name: string | undefined) => {
    if (match === '$$') return '$';
    if (name === undefined) {
      problem ??= 'has an unclosed "${": write ${VAR}, or $$ for a literal $';
      return match;
    }
    if (!NAME_RE.test(name)) {
      problem ??= `has an invalid variable reference ${JSON.stringify(match)}: names match [A-Za-z_][A-Za-z0-9_]*`;
      return match;
    }
    const found = lookup(name);
    if (found === undefined) {
      problem ??= `environment variable ${name} is not set`;
      return match;
    }
    return found;
  });
  return problem === undefined ? { value } : { reason: problem };
}

/** A copy of `value` with `${VAR}` replaced in every string (keys untouched); throws via `fail` naming the field. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, fail: (problem: SubstitutionProblem) => never, path = ''): unknown {
  if (typeof value === 'string') {
    const result = substituteString(value, (name) => env[name]);
    if ('reason' in result) fail({ field: path || '(root)', reason: result.reason });
    return result.value;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteEnv(item, env, fail, `${path}[${index}]`));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: a `__proto__` key stays a plain key instead of replacing the prototype.
      Object.defineProperty(out, key, { value: substituteEnv(item, env, fail, path ? `${path}.${key}` : key), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
