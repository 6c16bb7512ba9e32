import type { KerasPadding } from './same-padding.ts'
import type { WeightTensor } from './tfjs-weights.ts'

/** A layer as model.json stores it (Keras 2 topology). */
export interface RawKerasLayer {
  name: string
  class_name: string
  config: Record<string, unknown>
  inbound_nodes?: unknown
}

export type KerasActivation = 'linear' | 'relu' | 'softmax'

export interface InputLayer {
  className: 'InputLayer'
  name: string
  /** Without the batch axis, channels last: [height, width, channels] or [features]. */
  shape: number[]
}

export interface Conv2DLayer {
  className: 'Conv2D'
  name: string
  filters: number
  kernelSize: [number, number]
  strides: [number, number]
  padding: KerasPadding
  activation: KerasActivation
  /** Keras layout [kernelHeight, kernelWidth, inChannels, filters]. */
  kernel: WeightTensor
  bias?: WeightTensor
}

export interface BatchNormalizationLayer {
  className: 'BatchNormalization'
  name: string
  epsilon: number
  /** Ones when the layer has `scale: false`, zeros when `center: false`: what Keras computes with. */
  gamma: Float32Array
  beta: Float32Array
  movingMean: Float32Array
  movingVariance: Float32Array
}

export interface LeakyReLULayer {
  className: 'LeakyReLU'
  name: string
  alpha: number
}

export interface ReLULayer {
  className: 'ReLU'
  name: string
}

export interface ActivationLayer {
  className: 'Activation'
  name: string
  activation: KerasActivation
}

export interface MaxPooling2DLayer {
  className: 'MaxPooling2D'
  name: string
  poolSize: [number, number]
  strides: [number, number]
  padding: KerasPadding
}

export interface GlobalAveragePooling2DLayer {
  className: 'GlobalAveragePooling2D'
  name: string
}

export interface FlattenLayer {
  className: 'Flatten'
  name: string
}

export interface DenseLayer {
  className: 'Dense'
  name: string
  units: number
  activation: KerasActivation
  /** Keras layout [inFeatures, units]. */
  kernel: WeightTensor
  bias?: WeightTensor
}

export type KerasLayer =
  | InputLayer
  | Conv2DLayer
  | BatchNormalizationLayer
  | LeakyReLULayer
  | ReLULayer
  | ActivationLayer
  | MaxPooling2DLayer
  | GlobalAveragePooling2DLayer
  | FlattenLayer
  | DenseLayer

export const SUPPORTED_LAYER_CLASSES = [
  'InputLayer',
  'Conv2D',
  'BatchNormalization',
  'LeakyReLU',
  'ReLU',
  'Activation',
  'MaxPooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dense',
] as const

/** A layer the importer cannot translate, named so the user can find it in model.json. */
export class UnsupportedLayerError extends Error {
  override name = 'UnsupportedLayerError'
  readonly layerName: string
  readonly className: string
  constructor(layerName: string, className: string, reason: string) {
    super(`layer '${layerName}' (${className}): ${reason}`)
    this.layerName = layerName
    this.className = className
  }
}

/** Finds the weight `<layer>/<parameter>` or throws. */
export type WeightLookup = (layerName: string, parameter: string) => WeightTensor

/** Turns one raw layer into a typed layer with its weights, checking every option the importer does not model. */
export function parseKerasLayer(raw: RawKerasLayer, weight: WeightLookup): KerasLayer {
  const read = new ConfigReader(raw)
  const name = raw.name
  switch (raw.class_name) {
    case 'InputLayer': {
      // Keras 3 calls it `batch_shape`.
      const key = raw.config.batch_input_shape === undefined ? 'batch_shape' : 'batch_input_shape'
      return { className: 'InputLayer', name, shape: read.shapeWithoutBatch(key) }
    }
    case 'Conv2D': {
      read.expectChannelsLast()
      read.expectAbsentOrEqual('dilation_rate', [1, 1], 1)
      read.expectAbsentOrEqual('groups', 1)
      const filters = read.positiveInteger('filters')
      const kernelSize = read.pair('kernel_size')
      const kernel = checkedShape(raw, weight(name, 'kernel'), [kernelSize[0], kernelSize[1], null, filters])
      const bias = read.boolean('use_bias', true) ? checkedShape(raw, weight(name, 'bias'), [filters]) : undefined
      return {
        className: 'Conv2D',
        name,
        filters,
        kernelSize,
        strides: read.pair('strides', [1, 1]),
        padding: read.padding(),
        activation: read.activation(),
        kernel,
        ...(bias && { bias }),
      }
    }
    case 'BatchNormalization': {
      const axis = read.numberOr('axis', -1)
      if (axis !== -1 && axis !== 3) read.refuse(`normalises axis ${axis}; only the channel axis (-1) is supported`)
      const movingMean = weight(name, 'moving_mean')
      const channels = checkedShape(raw, movingMean, [null]).shape[0]!
      const vector = (parameter: string) => checkedShape(raw, weight(name, parameter), [channels]).data
      const constant = (value: number) => new Float32Array(channels).fill(value)
      return {
        className: 'BatchNormalization',
        name,
        epsilon: read.numberOr('epsilon', 0.001),
        gamma: read.boolean('scale', true) ? vector('gamma') : constant(1),
        beta: read.boolean('center', true) ? vector('beta') : constant(0),
        movingMean: movingMean.data,
        movingVariance: vector('moving_variance'),
      }
    }
    case 'LeakyReLU':
      // Keras 3 renamed `alpha` to `negative_slope`; 0.3 is the Keras 2 default.
      return { className: 'LeakyReLU', name, alpha: read.numberOr('alpha', read.numberOr('negative_slope', 0.3)) }
    case 'ReLU':
      read.expectAbsentOrEqual('max_value', null)
      read.expectAbsentOrEqual('negative_slope', 0)
      read.expectAbsentOrEqual('threshold', 0)
      return { className: 'ReLU', name }
    case 'Activation':
      return { className: 'Activation', name, activation: read.activation() }
    case 'MaxPooling2D': {
      read.expectChannelsLast()
      const poolSize = read.pair('pool_size', [2, 2])
      // Keras: strides default to the pool size.
      const strides = raw.config.strides == null ? poolSize : read.pair('strides')
      return { className: 'MaxPooling2D', name, poolSize, strides, padding: read.padding() }
    }
    case 'GlobalAveragePooling2D':
      read.expectChannelsLast()
      read.expectAbsentOrEqual('keepdims', false)
      return { className: 'GlobalAveragePooling2D', name }
    case 'Flatten':
      read.expectChannelsLast()
      return { className: 'Flatten', name }
    case 'Dense': {
      const units = read.positiveInteger('units')
      const kernel = checkedShape(raw, weight(name, 'kernel'), [null, units])
      const bias = read.boolean('use_bias', true) ? checkedShape(raw, weight(name, 'bias'), [units]) : undefined
      return { className: 'Dense', name, units, activation: read.activation(), kernel, ...(bias && { bias }) }
    }
    default:
      throw new UnsupportedLayerError(
        raw.name,
        raw.class_name,
        `unknown layer type; the importer supports ${SUPPORTED_LAYER_CLASSES.join(', ')}`,
      )
  }
}

/** Checks a weight's shape against the expected one; `null` matches any size (known only from the previous layer). */
function checkedShape(raw: RawKerasLayer, tensor: WeightTensor, expected: (number | null)[]): WeightTensor {
  const matches =
    tensor.shape.length === expected.length && expected.every((size, i) => size === null || size === tensor.shape[i])
  if (!matches) {
    const wanted = expected.map((size) => size ?? '?').join(',')
    throw new UnsupportedLayerError(
      raw.name,
      raw.class_name,
      `weight has shape [${tensor.shape}], expected [${wanted}]`,
    )
  }
  return tensor
}

/** Typed access to a layer's `config`, with errors that name the layer. */
class ConfigReader {
  readonly #raw: RawKerasLayer

  constructor(raw: RawKerasLayer) {
    this.#raw = raw
  }

  refuse(reason: string): never {
    throw new UnsupportedLayerError(this.#raw.name, this.#raw.class_name, reason)
  }

  #value(key: string): unknown {
    return this.#raw.config[key]
  }

  numberOr(key: string, fallback: number): number {
    const value = this.#value(key)
    if (value == null) return fallback
    if (typeof value !== 'number' || !Number.isFinite(value)) this.refuse(`${key} is ${JSON.stringify(value)}`)
    return value
  }

  positiveInteger(key: string): number {
    const value = this.#value(key)
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      this.refuse(`${key} must be a positive integer, not ${JSON.stringify(value)}`)
    }
    return value
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.#value(key)
    if (value == null) return fallback
    if (typeof value !== 'boolean') this.refuse(`${key} must be true or false, not ${JSON.stringify(value)}`)
    return value
  }

  /** A 2D size: Keras writes `[3, 3]` but accepts a single integer. */
  pair(key: string, fallback?: [number, number]): [number, number] {
    const value = this.#value(key)
    if (value == null && fallback) return fallback
    const pair = typeof value === 'number' ? [value, value] : value
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((n) => Number.isInteger(n) && n >= 1)) {
      this.refuse(`${key} must be two positive integers, not ${JSON.stringify(value)}`)
    }
    return [pair[0], pair[1]]
  }

  shapeWithoutBatch(key: string): number[] {
    const value = this.#value(key)
    if (!Array.isArray(value) || value.length < 2) this.refuse(`${key} must be a shape, not ${JSON.stringify(value)}`)
    const [, ...sizes] = value
    if (!sizes.every((n) => Number.isInteger(n) && n >= 1)) {
      this.refuse(`${key} ${JSON.stringify(value)} must give every size but the batch's (needed for 'same' padding)`)
    }
    return sizes as number[]
  }

  padding(): KerasPadding {
    const value = this.#value('padding') ?? 'valid'
    if (value !== 'same' && value !== 'valid') this.refuse(`padding ${JSON.stringify(value)} is not supported`)
    return value
  }

  activation(): KerasActivation {
    const value = this.#value('activation') ?? 'linear'
    if (value !== 'linear' && value !== 'relu' && value !== 'softmax') {
      this.refuse(`activation ${JSON.stringify(value)} is not supported (only linear, relu, softmax)`)
    }
    return value
  }

  expectChannelsLast(): void {
    const value = this.#value('data_format')
    if (value != null && value !== 'channels_last') this.refuse(`data_format ${value} is not supported`)
  }

  /** Refuses an option the importer does not model unless it has its neutral value (a number may stand for a pair). */
  expectAbsentOrEqual(key: string, ...neutral: unknown[]): void {
    const value = this.#value(key)
    if (value === undefined) return
    if (!neutral.some((n) => JSON.stringify(n) === JSON.stringify(value))) {
      this.refuse(`${key} ${JSON.stringify(value)} is not supported`)
    }
  }
}
