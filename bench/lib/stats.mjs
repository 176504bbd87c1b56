// Small statistics for bench samples: percentiles of sorted arrays, median and spread of repeated runs.

/** The p-th percentile (0–100) of an ascending array, nearest-rank; undefined for an empty one. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))];
}

/** Median, min and max of unsorted samples. */
export function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: sorted[0], max: sorted.at(-1), n: sorted.length };
}

/** Rounds to `digits` decimals; null stays null. */
export const round = (x, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : +x.toFixed(digits));
