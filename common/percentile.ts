/**
 * The one percentile of Switchyard, nearest rank: the smallest of the values with at least a fraction p of them ≤ it
 * (so always one of the values; p = 0 gives the least, p = 1 the largest). The simulator, the load tester, the
 * experiment and the gateway's live page all use it, so a predicted p99 and a measured one mean the same thing.
 * NaN when there are no values.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[nearestRank(sorted.length, p) - 1]!
}

/** The same, of values in any order. */
export function percentile(values: Iterable<number>, p: number): number {
  return percentileOfSorted(Float64Array.from(values).sort(), p)
}

/**
 * The 1-based rank ⌈p·n⌉, within [1, n]. p·n is a float product: 0.07 × 100 is 7.000000000000001, whose ceiling
 * would skip a rank, so a product within a few ulps above a whole number counts as that number.
 */
function nearestRank(n: number, p: number): number {
  const exact = p * n
  const whole = Math.round(exact)
  const rank = Math.abs(exact - whole) <= 4 * Number.EPSILON * Math.max(1, exact) ? whole : Math.ceil(exact)
  return Math.min(n, Math.max(1, rank))
}
