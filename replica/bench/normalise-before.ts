import type { NormaliseSpec } from '../src/preprocess.ts'

/**
 * The normaliser as the replica ran it before issue 29 (one pass per channel, three strided reads of the RGB bytes,
 * the lookup tables rebuilt per call through a closure), kept only so `npm run bench:preprocess` can time it beside
 * today's `cropAndNormalise` in one run. Not used by the replica.
 */
export function cropAndNormaliseBefore(
  rgb: Uint8Array,
  width: number,
  crop: { left: number; top: number },
  spec: NormaliseSpec,
  out: Float32Array<ArrayBuffer> = new Float32Array(3 * spec.inputSize * spec.inputSize),
): Float32Array<ArrayBuffer> {
  const size = spec.inputSize
  const plane = size * size
  if (out.length !== 3 * plane) throw new RangeError(`the output holds ${out.length} floats, not ${3 * plane}`)
  const [pixelStride, channelStride] = spec.layout === 'NCHW' ? [1, plane] : [3, 1]
  for (let c = 0; c < 3; c++) {
    const lut = new Float32Array(256)
    const toUnit = Math.abs(spec.scale * 255 - 1) < 1e-12 ? (v: number) => v / 255 : (v: number) => v * spec.scale
    for (let v = 0; v < 256; v++) lut[v] = (toUnit(v) - spec.mean[c]!) / spec.std[c]!
    for (let y = 0; y < size; y++) {
      const row = ((crop.top + y) * width + crop.left) * 3 + c
      const outRow = c * channelStride + y * size * pixelStride
      for (let x = 0; x < size; x++) out[outRow + x * pixelStride] = lut[rgb[row + x * 3]!]!
    }
  }
  return out
}
