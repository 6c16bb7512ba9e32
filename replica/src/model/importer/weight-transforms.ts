import type { KerasLayer } from './keras-layers.ts'
import type { WeightTensor } from './tfjs-weights.ts'

/** A change to a model's weights made while importing it: how a second, measurably different version is made. */
export interface WeightTransform {
  /** Symmetric linear quantisation of every kernel to this many bits, per tensor (then stored as float32 again). */
  bits?: number
  /** Share of every kernel's weights, the smallest in magnitude, set to zero (magnitude pruning). */
  prune?: number
}

/**
 * The weights rounded to `bits`-bit integers times one scale per tensor (max |w| / (2^(bits−1) − 1)), as an int8
 * runtime would hold them: every value moves by at most half a step, and at most 2^bits − 1 values remain.
 */
export function roundToBits(data: Float32Array, bits: number): Float32Array {
  let max = 0
  for (const value of data) max = Math.max(max, Math.abs(value))
  const levels = 2 ** (bits - 1) - 1
  if (max === 0) return Float32Array.from(data)
  const step = max / levels
  return data.map((value) => Math.round(value / step) * step)
}

/** The weights with the smallest `share` of them by magnitude (⌊share · n⌋ of them; ties in index order) set to 0. */
export function pruneSmallest(data: Float32Array, share: number): Float32Array {
  const count = Math.floor(share * data.length)
  const order = Array.from(data.keys()).sort((a, b) => Math.abs(data[a]!) - Math.abs(data[b]!) || a - b)
  const pruned = Float32Array.from(data)
  for (const index of order.slice(0, count)) pruned[index] = 0
  return pruned
}

/** The layers with every Conv2D and Dense kernel transformed (biases and BatchNorm statistics are kept). */
export function transformKernels(layers: readonly KerasLayer[], transform: WeightTransform): KerasLayer[] {
  const apply = (kernel: WeightTensor): WeightTensor => {
    let data = kernel.data
    if (transform.prune !== undefined) data = pruneSmallest(data, transform.prune)
    if (transform.bits !== undefined) data = roundToBits(data, transform.bits)
    return { shape: kernel.shape, data }
  }
  return layers.map((layer) =>
    layer.className === 'Conv2D' || layer.className === 'Dense' ? { ...layer, kernel: apply(layer.kernel) } : layer,
  )
}

/** How the transform shows in a version name, e.g. `-int8`, `-pruned60`. */
export function transformSuffix(transform: WeightTransform): string {
  const prune = transform.prune === undefined ? '' : `-pruned${Math.round(transform.prune * 100)}`
  const bits = transform.bits === undefined ? '' : `-int${transform.bits}`
  return `${prune}${bits}`
}
