/**
 * How a calibrated activation range is chosen from what the calibration images produced. `minmax` takes the extremes
 * seen; `percentile` drops the rarest outliers on each side (a handful of huge activations otherwise stretch the scale
 * so far that the values that matter fall on a few levels); `mse` picks the range whose quantisation error (rounding
 * inside, clipping outside) summed over the histogram is least, counting negative values at the weight the next op
 * gives them (a LeakyReLU's slope: an error on its negative side reaches the next layer shrunk by it).
 */
export const CALIBRATION_METHODS = ['minmax', 'percentile', 'mse'] as const
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number]

export const HISTOGRAM_BINS = 2048

/** A histogram over [min, max], HISTOGRAM_BINS equal bins, of every value a tensor took over the calibration set. */
export interface RangeHistogram {
  min: number
  max: number
  counts: Float64Array
}

export class RunningMinMax {
  min = Infinity
  max = -Infinity
  add(values: ArrayLike<number>): void {
    let { min, max } = this
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!
      if (v < min) min = v
      if (v > max) max = v
    }
    this.min = min
    this.max = max
  }
}

export function emptyHistogram(min: number, max: number, bins = HISTOGRAM_BINS): RangeHistogram {
  return { min, max, counts: new Float64Array(bins) }
}

export function addToHistogram(histogram: RangeHistogram, values: ArrayLike<number>): void {
  const { min, max, counts } = histogram
  const bins = counts.length
  const width = (max - min) / bins
  if (!(width > 0)) {
    counts[0]! += values.length
    return
  }
  for (let i = 0; i < values.length; i++) {
    const bin = Math.floor((values[i]! - min) / width)
    counts[bin < 0 ? 0 : bin >= bins ? bins - 1 : bin]! += 1
  }
}

/**
 * The range that leaves out `(1 − percentile)` of the values on each side (by histogram bins, so within a bin's width
 * of the exact quantile), never narrower than one bin.
 */
export function percentileRange(histogram: RangeHistogram, percentile: number): { min: number; max: number } {
  if (!(percentile > 0.5 && percentile <= 1)) throw new Error(`percentile ${percentile} must be in (0.5, 1]`)
  const { min, max, counts } = histogram
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0 || percentile === 1 || !(max > min)) return { min, max }
  const tail = total * (1 - percentile)
  const width = (max - min) / counts.length
  let low = 0
  for (let seen = 0; low < counts.length - 1; low++) {
    seen += counts[low]!
    if (seen > tail) break
  }
  let high = counts.length - 1
  for (let seen = 0; high > low; high--) {
    seen += counts[high]!
    if (seen > tail) break
  }
  // The bins that hold the quantiles are kept whole: the range ends on their outer edges.
  return { min: low === 0 ? min : min + low * width, max: high === counts.length - 1 ? max : min + (high + 1) * width }
}

/** Candidate ends tried on each side of 0 by `mseRange`. */
const MSE_STEPS = 64

/**
 * The range [a, b] (a ≤ 0 ≤ b, ends on a grid of MSE_STEPS per side) with the least expected squared error of uint8
 * quantisation over the histogram: a value inside costs step²/12 (uniform rounding), one outside its distance to the
 * nearest end squared; a negative value's error counts `negativeWeight`² as much.
 */
export function mseRange(histogram: RangeHistogram, negativeWeight = 1): { min: number; max: number } {
  const { counts } = histogram
  const low = Math.min(histogram.min, 0)
  const high = Math.max(histogram.max, 0)
  if (!(histogram.max > histogram.min) || !(high > low)) return { min: low, max: high }
  const width = (histogram.max - histogram.min) / counts.length
  const centres = Float64Array.from(counts, (_, i) => histogram.min + (i + 0.5) * width)
  const weights = Float64Array.from(centres, (v) => (v < 0 ? negativeWeight * negativeWeight : 1))
  const error = (a: number, b: number) => {
    const step = (b - a) / 255
    const rounding = (step * step) / 12
    let sum = 0
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!
      if (c === 0) continue
      const v = centres[i]!
      const clipped = v < a ? a - v : v > b ? v - b : 0
      sum += c * weights[i]! * (clipped > 0 ? clipped * clipped : rounding)
    }
    return sum
  }
  let best = { min: low, max: high }
  let bestError = error(low, high)
  for (let i = 1; i <= MSE_STEPS; i++) {
    const a = low === 0 ? 0 : (low * i) / MSE_STEPS
    for (let j = 1; j <= MSE_STEPS; j++) {
      const b = high === 0 ? 0 : (high * j) / MSE_STEPS
      if (!(b > a)) continue
      const e = error(a, b)
      if (e < bestError) {
        bestError = e
        best = { min: a, max: b }
      }
      if (high === 0) break
    }
    if (low === 0) break
  }
  return best
}

export function chooseRange(
  method: CalibrationMethod,
  histogram: RangeHistogram,
  options: { percentile: number; negativeWeight: number },
): { min: number; max: number } {
  switch (method) {
    case 'minmax':
      return { min: histogram.min, max: histogram.max }
    case 'percentile':
      return percentileRange(histogram, options.percentile)
    case 'mse':
      return mseRange(histogram, options.negativeWeight)
  }
}
