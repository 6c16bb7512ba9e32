import type { Random } from '../../common/random.ts'

export type ArrivalMode = 'poisson' | 'uniform' | 'burst'

/**
 * When, within second `second`, each of its `count` requests is due (ms from the start of the run, ascending).
 * - poisson: `count` points drawn uniformly at random in the second and sorted. That is a Poisson process
 *   conditioned on its count, so the file's per-second totals are kept exactly while gaps are exponential.
 * - uniform: evenly spaced, each in the middle of its slot.
 * - burst: all at the start of the second.
 */
export function arrivalsInSecond(second: number, count: number, mode: ArrivalMode, random: Random): number[] {
  const start = second * 1000
  switch (mode) {
    case 'burst':
      return Array.from({ length: count }, () => start)
    case 'uniform':
      return Array.from({ length: count }, (_, i) => start + ((i + 0.5) * 1000) / count)
    case 'poisson': {
      const times = Array.from({ length: count }, () => start + random() * 1000)
      return times.sort((a, b) => a - b)
    }
  }
}
