/**
 * The p-quantile of values sorted ascending: the element at floor(p·n), NaN when there are none. The simulator and
 * the real experiment both use it, so a predicted p99 and a measured one mean the same thing.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

/** The same, of values in any order. */
export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(Float64Array.from(values).sort(), p)
}
