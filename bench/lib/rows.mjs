// Result rows {name, value, unit, baseline, ratio, goal, met}: goals are small expressions, `met` is computed from them.

const GOAL_RE = /^(value|ratio) (>=|<=|==) (-?\d+(?:\.\d+)?)$/;

/**
 * Normalizes a goal: a string `value|ratio >=|<=|== N`, or a bare number meaning `ratio >= N`
 * (the convention of bench/router.mjs and bench/unpack.mjs), or null for a figure with no goal.
 */
function normalizeGoal(goal) {
  if (goal === null || goal === undefined) return null;
  if (typeof goal === 'number') return `ratio >= ${goal}`;
  if (typeof goal === 'string' && GOAL_RE.test(goal)) return goal;
  throw new Error(`bench: goal ${JSON.stringify(goal)} is not "value|ratio >=|<=|== N" or a number`);
}

/** True/false from the goal; null when there is no goal; false when the figure it needs is missing. */
function goalMet(row) {
  const goal = normalizeGoal(row.goal);
  if (goal === null) return null;
  const [, field, op, n] = GOAL_RE.exec(goal);
  const x = row[field];
  if (typeof x !== 'number' || !Number.isFinite(x)) return false;
  const target = Number(n);
  return op === '>=' ? x >= target : op === '<=' ? x <= target : x === target;
}

/** A row with its goal normalized and `met` computed (extra fields such as `note` kept). */
export function finishRow(row) {
  const goal = normalizeGoal(row.goal);
  const done = { name: row.name, value: row.value ?? null, unit: row.unit ?? '', baseline: row.baseline ?? null, ratio: row.ratio ?? null, goal, met: null };
  done.met = row.error ? false : goalMet(done); // `error`: the figure exists but some of its runs failed

  for (const [k, v] of Object.entries(row)) if (!(k in done)) done[k] = v;
  return done;
}

/** The row recorded when a benchmark could not produce its figure. */
export function missingRow(name, note) {
  return { name, value: null, unit: '', baseline: null, ratio: null, goal: null, met: false, note };
}
