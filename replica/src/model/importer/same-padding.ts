export type KerasPadding = 'same' | 'valid'

export interface PaddedWindow {
  /** ONNX order: [top, left, bottom, right]. */
  pads: [number, number, number, number]
  height: number
  width: number
}

/**
 * TensorFlow's padding arithmetic for a sliding window. `same` keeps ceil(size / stride) outputs and, when the padding
 * is odd, puts the extra row or column at the end (bottom/right); ONNX's `SAME_UPPER` would do the same, but explicit
 * pads keep the graph independent of how a runtime reads auto_pad.
 */
export function kerasPadding2d(
  input: { height: number; width: number },
  window: readonly [number, number],
  strides: readonly [number, number],
  padding: KerasPadding,
): PaddedWindow {
  const [top, bottom, height] = paddingAlong(input.height, window[0], strides[0], padding)
  const [left, right, width] = paddingAlong(input.width, window[1], strides[1], padding)
  if (height < 1 || width < 1) {
    throw new Error(`a ${window[0]}×${window[1]} window does not fit a ${input.height}×${input.width} input`)
  }
  return { pads: [top, left, bottom, right], height, width }
}

function paddingAlong(size: number, window: number, stride: number, padding: KerasPadding): [number, number, number] {
  if (padding === 'valid') return [0, 0, Math.floor((size - window) / stride) + 1]
  const output = Math.ceil(size / stride)
  const total = Math.max((output - 1) * stride + window - size, 0)
  const before = Math.floor(total / 2)
  return [before, total - before, output]
}
