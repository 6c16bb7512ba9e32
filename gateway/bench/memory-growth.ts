/** One reading of a process's memory, as the soak takes them every few seconds. */
export interface MemorySample {
  atS: number
  process: string
  rssMb: number
  heapMb: number
}

export interface MemoryVerdict {
  process: string
  metric: 'rssMb' | 'heapMb'
  afterWarmUpMb: number
  endMb: number
  growth: number
}

/** Fewest samples in each compared window; fewer than two windows' worth after warm-up means no verdict. */
export const MIN_WINDOW_SAMPLES = 6

/**
 * Growth of each process's memory from just after warm-up to the end. Each end is a window of samples (a tenth of
 * those after warm-up, at least MIN_WINDOW_SAMPLES), so one reading never decides. Used heap is a sawtooth whose
 * height (a few MB) depends on when the reading falls between collections, so heap compares the window's minimum —
 * what survives garbage collection, which is what a leak grows; RSS moves slowly and compares the median.
 */
export function memoryGrowth(samples: readonly MemorySample[], warmUpS: number): MemoryVerdict[] {
  return [...new Set(samples.map((s) => s.process))].flatMap((name) => {
    const series = samples.filter((s) => s.process === name && s.atS >= warmUpS)
    if (series.length < 2 * MIN_WINDOW_SAMPLES) return []
    const window = Math.max(MIN_WINDOW_SAMPLES, Math.floor(series.length / 10))
    return (['rssMb', 'heapMb'] as const).map((metric) => {
      const summary = metric === 'heapMb' ? minimum : median
      const first = summary(series.slice(0, window).map((s) => s[metric]))
      const last = summary(series.slice(-window).map((s) => s[metric]))
      return { process: name, metric, afterWarmUpMb: first, endMb: last, growth: last / first - 1 }
    })
  })
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}

function minimum(values: number[]): number {
  return Math.min(...values)
}
