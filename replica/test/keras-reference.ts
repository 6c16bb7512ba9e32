import type { KerasLayer } from '../src/model/importer/keras-layers.ts'

/** An activation as Keras holds it: channels last, one image (no batch axis). */
export type Activation =
  | { kind: 'image'; height: number; width: number; channels: number; data: Float64Array }
  | {
      kind: 'flat'
      data: Float64Array
    }

/**
 * A deliberately plain, slow forward pass of Keras layers, written from the Keras/TensorFlow definitions and
 * sharing no code with the importer: NHWC layout, BatchNormalization unfolded, `same` padding as TF computes it.
 * The importer's ONNX graph must agree with it.
 */
export function kerasForward(layers: readonly KerasLayer[], input: Activation): Float64Array {
  let x = input
  for (const layer of layers) x = forwardLayer(layer, x)
  if (x.kind !== 'flat') throw new Error('the model does not end flat')
  return x.data
}

function forwardLayer(layer: KerasLayer, x: Activation): Activation {
  switch (layer.className) {
    case 'InputLayer':
      return x
    case 'Conv2D': {
      const image = asImage(x)
      const [kh, kw, inC, outC] = layer.kernel.shape as [number, number, number, number]
      const [sh, sw] = layer.strides
      const rows = tfPadding(image.height, kh, sh, layer.padding)
      const cols = tfPadding(image.width, kw, sw, layer.padding)
      const out = new Float64Array(rows.output * cols.output * outC)
      for (let oy = 0; oy < rows.output; oy++) {
        for (let ox = 0; ox < cols.output; ox++) {
          for (let o = 0; o < outC; o++) {
            let sum = layer.bias ? layer.bias.data[o]! : 0
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh + ky - rows.before
              if (iy < 0 || iy >= image.height) continue
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw + kx - cols.before
                if (ix < 0 || ix >= image.width) continue
                for (let i = 0; i < inC; i++) {
                  sum +=
                    image.data[(iy * image.width + ix) * inC + i]! *
                    layer.kernel.data[((ky * kw + kx) * inC + i) * outC + o]!
                }
              }
            }
            out[(oy * cols.output + ox) * outC + o] = sum
          }
        }
      }
      return activate(layer.activation, {
        kind: 'image',
        height: rows.output,
        width: cols.output,
        channels: outC,
        data: out,
      })
    }
    case 'BatchNormalization': {
      const channels = layer.gamma.length
      const data = x.data.map((v, i) => {
        const c = i % channels
        return (
          ((v - layer.movingMean[c]!) / Math.sqrt(layer.movingVariance[c]! + layer.epsilon)) * layer.gamma[c]! +
          layer.beta[c]!
        )
      })
      return { ...x, data }
    }
    case 'LeakyReLU':
      return { ...x, data: x.data.map((v) => (v < 0 ? v * layer.alpha : v)) }
    case 'ReLU':
      return activate('relu', x)
    case 'Activation':
      return activate(layer.activation, x)
    case 'MaxPooling2D': {
      const image = asImage(x)
      const [ph, pw] = layer.poolSize
      const [sh, sw] = layer.strides
      const rows = tfPadding(image.height, ph, sh, layer.padding)
      const cols = tfPadding(image.width, pw, sw, layer.padding)
      const out = new Float64Array(rows.output * cols.output * image.channels).fill(Number.NEGATIVE_INFINITY)
      for (let oy = 0; oy < rows.output; oy++) {
        for (let ox = 0; ox < cols.output; ox++) {
          for (let py = 0; py < ph; py++) {
            const iy = oy * sh + py - rows.before
            if (iy < 0 || iy >= image.height) continue
            for (let px = 0; px < pw; px++) {
              const ix = ox * sw + px - cols.before
              if (ix < 0 || ix >= image.width) continue
              for (let c = 0; c < image.channels; c++) {
                const at = (oy * cols.output + ox) * image.channels + c
                out[at] = Math.max(out[at]!, image.data[(iy * image.width + ix) * image.channels + c]!)
              }
            }
          }
        }
      }
      return { kind: 'image', height: rows.output, width: cols.output, channels: image.channels, data: out }
    }
    case 'GlobalAveragePooling2D': {
      const image = asImage(x)
      const out = new Float64Array(image.channels)
      const pixels = image.height * image.width
      for (let p = 0; p < pixels; p++)
        for (let c = 0; c < image.channels; c++) out[c]! += image.data[p * image.channels + c]!
      return { kind: 'flat', data: out.map((v) => v / pixels) }
    }
    case 'Flatten':
      // NHWC memory order is exactly Keras' flattening order.
      return { kind: 'flat', data: x.data }
    case 'Dense': {
      if (x.kind !== 'flat') throw new Error(`${layer.name}: Dense needs a flat input`)
      const [inF, units] = layer.kernel.shape as [number, number]
      const out = new Float64Array(units)
      for (let o = 0; o < units; o++) {
        let sum = layer.bias ? layer.bias.data[o]! : 0
        for (let i = 0; i < inF; i++) sum += x.data[i]! * layer.kernel.data[i * units + o]!
        out[o] = sum
      }
      return activate(layer.activation, { kind: 'flat', data: out })
    }
  }
}

/** TensorFlow's `same`/`valid` arithmetic along one axis. */
function tfPadding(size: number, window: number, stride: number, padding: 'same' | 'valid') {
  if (padding === 'valid') return { output: Math.floor((size - window) / stride) + 1, before: 0 }
  const output = Math.ceil(size / stride)
  const total = Math.max((output - 1) * stride + window - size, 0)
  return { output, before: Math.floor(total / 2) }
}

function activate(activation: 'linear' | 'relu' | 'softmax', x: Activation): Activation {
  if (activation === 'linear') return x
  if (activation === 'relu') return { ...x, data: x.data.map((v) => Math.max(0, v)) }
  const channels = x.kind === 'image' ? x.channels : x.data.length
  const data = new Float64Array(x.data.length)
  for (let start = 0; start < x.data.length; start += channels) {
    const row = x.data.subarray(start, start + channels)
    const max = Math.max(...row)
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0)
    row.forEach((v, c) => {
      data[start + c] = Math.exp(v - max) / sum
    })
  }
  return { ...x, data }
}

function asImage(x: Activation): Extract<Activation, { kind: 'image' }> {
  if (x.kind !== 'image') throw new Error('expected an image activation')
  return x
}
