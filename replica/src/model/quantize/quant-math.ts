/**
 * The arithmetic of 8-bit quantisation as ONNX defines it (QuantizeLinear: q = saturate(round(x / scale) + zero_point),
 * rounding half to even; DequantizeLinear: x = (q − zero_point) · scale). Activations are uint8 with a zero point
 * (asymmetric: a ReLU output uses all 256 levels), weights int8 symmetric per output channel in [−127, 127] (zero
 * point 0, so the integer kernels need no weight-offset correction and −128 never appears).
 */

export interface ActivationParams {
  scale: number
  /** 0–255. */
  zeroPoint: number
}

/** Below this a range is treated as empty: its scale would make every value saturate. */
const SMALLEST_RANGE = 1e-8

const SMALLEST_NORMAL_FLOAT32 = 2 ** -126

/** Rounds half to even, as ONNX QuantizeLinear does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/**
 * uint8 scale and zero point for values in [min, max]. The range is widened to contain 0 so that 0 (padding, a ReLU's
 * floor) is exactly representable; the scale is stored as float32, as the model will hold it.
 */
export function activationParams(min: number, max: number): ActivationParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new Error(`bad range [${min}, ${max}]`)
  const low = Math.min(min, 0)
  const high = Math.max(max, 0)
  if (high - low < SMALLEST_RANGE) return { scale: 1, zeroPoint: 0 }
  const scale = Math.fround((high - low) / 255)
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-low / scale)))
  return { scale, zeroPoint }
}

export function quantizeU8(x: number, { scale, zeroPoint }: ActivationParams): number {
  // x / scale in float32, as ONNX Runtime divides: at a tie (100 / 3.9215686 is 25.5 in float32, 25.49999997 in
  // float64) the wider quotient rounds the other way.
  return Math.min(255, Math.max(0, roundHalfEven(Math.fround(x / scale)) + zeroPoint))
}

export function dequantizeU8(q: number, { scale, zeroPoint }: ActivationParams): number {
  return (q - zeroPoint) * scale
}

export interface ChannelQuantized {
  values: Int8Array
  /** One per channel, float32. */
  scales: Float32Array
}

/**
 * Symmetric int8 quantisation of a weight tensor, one scale per slice along `axis` (the output channel: 0 for a Conv
 * kernel [Cout, Cin, kh, kw] or a transposed Gemm weight [N, K], 1 for a MatMul weight [K, N]).
 */
export function quantizeWeightsPerChannel(
  weights: Float32Array,
  dims: readonly number[],
  axis: number,
): ChannelQuantized {
  const channels = dims[axis]!
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1)
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1)
  if (channels * inner * outer !== weights.length) throw new Error(`[${dims}] does not hold ${weights.length} values`)
  const largest = new Float64Array(channels)
  const channelOf = (i: number) => Math.floor(i / inner) % channels
  for (let i = 0; i < weights.length; i++) {
    const c = channelOf(i)
    largest[c] = Math.max(largest[c]!, Math.abs(weights[i]!))
  }
  // An all-zero channel gets scale 1: its values are 0 whatever the scale, and a 0 scale would divide by zero. So does
  // a channel so small that its float32 scale would be subnormal or 0 (its weights become 0, an error below 1e-36).
  const scales = Float32Array.from(largest, (m) => (Math.fround(m / 127) >= SMALLEST_NORMAL_FLOAT32 ? m / 127 : 1))
  const values = new Int8Array(weights.length)
  for (let i = 0; i < weights.length; i++) {
    values[i] = Math.min(127, Math.max(-127, roundHalfEven(weights[i]! / scales[channelOf(i)]!)))
  }
  return { values, scales }
}

/**
 * A bias as int32 in the accumulator's units: bias[c] / (inputScale · weightScale[c]), zero point 0, as QLinearConv
 * takes it and as ONNX Runtime expects a dequantised bias in a QDQ Conv.
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(weightScales, (w) => inputScale * w)
  const values = new Int32Array(bias.length)
  for (let c = 0; c < bias.length; c++) {
    const q = roundHalfEven(bias[c]! / scales[c]!)
    values[c] = Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), q))
  }
  return { values, scales }
}
