import { attr, OnnxGraphBuilder } from '../onnx/onnx-graph.ts'
import { foldBatchNorm } from './fold-batch-norm.ts'
import {
  type BatchNormalizationLayer,
  type Conv2DLayer,
  type DenseLayer,
  type KerasActivation,
  type KerasLayer,
  type MaxPooling2DLayer,
  UnsupportedLayerError,
} from './keras-layers.ts'
import { kerasPadding2d } from './same-padding.ts'

export const ONNX_INPUT_NAME = 'input'
export const ONNX_OUTPUT_NAME = 'logits'
export const ONNX_OPSET = 13

export interface OnnxConversionOptions {
  graphName: string
  producerVersion?: string
  docString?: string
  metadata?: Record<string, string>
}

export interface ConvertedOnnxModel {
  bytes: Uint8Array
  /** Parameters of the ONNX graph, with every BatchNorm that follows a Conv2D or Dense folded into it. */
  parameterCount: number
  input: { channels: number; height: number; width: number }
  classes: number
}

/** The activation's shape between layers, as the ONNX graph holds it (channels first). */
type TensorShape = { rank: 4; channels: number; height: number; width: number } | { rank: 2; features: number }

/** Emits a layer's ONNX nodes after `x`; its last node's output gets the name `out` when given. */
type Step = (g: OnnxGraphBuilder, x: string, out: string | undefined) => string

interface Lowered {
  steps: Step[]
  shape: TensorShape
}

/**
 * Translates a chain of Keras layers (channels last) into an ONNX graph that takes NCHW input: each kernel is
 * transposed instead of the data, `same` padding becomes explicit (possibly asymmetric) pads computed from the
 * tracked spatial sizes, and BatchNormalization is folded into the Conv2D or Dense before it when it can be.
 */
export function convertTfjsToOnnx(layers: readonly KerasLayer[], options: OnnxConversionOptions): ConvertedOnnxModel {
  const [inputLayer, ...body] = layers
  if (inputLayer?.className !== 'InputLayer') throw new Error('the model does not start with an InputLayer')
  const [height, width, channels] = inputLayer.shape
  if (inputLayer.shape.length !== 3 || !height || !width || !channels) {
    throw new UnsupportedLayerError(inputLayer.name, 'InputLayer', `input shape [${inputLayer.shape}] is not an image`)
  }
  let shape: TensorShape = { rank: 4, channels, height, width }
  const steps: Step[] = []
  for (let i = 0; i < body.length; i++) {
    const layer = body[i]!
    const next = body[i + 1]
    const foldable = (layer.className === 'Conv2D' || layer.className === 'Dense') && layer.activation === 'linear'
    const batchNorm = foldable && next?.className === 'BatchNormalization' ? next : undefined
    if (batchNorm) i++
    const lowered = lowerLayer(layer, shape, batchNorm)
    steps.push(...lowered.steps)
    shape = lowered.shape
  }
  if (shape.rank !== 2) {
    throw new Error(`the model ends with a [${describe(shape)}] tensor; a classifier must end with [N, classes]`)
  }
  if (steps.length === 0) steps.push((g, x, out) => g.node('Identity', [x], {}, out))

  const g = new OnnxGraphBuilder(options.graphName)
  let x = g.input(ONNX_INPUT_NAME, ['N', channels, height, width])
  steps.forEach((step, i) => {
    x = step(g, x, i === steps.length - 1 ? ONNX_OUTPUT_NAME : undefined)
  })
  g.output(ONNX_OUTPUT_NAME, ['N', shape.features])
  const bytes = g.encode({
    producerName: 'switchyard-tfjs-importer',
    producerVersion: options.producerVersion ?? '1',
    opsetVersion: ONNX_OPSET,
    ...(options.docString !== undefined && { docString: options.docString }),
    ...(options.metadata && { metadata: options.metadata }),
  })
  return { bytes, parameterCount: g.parameterCount, input: { channels, height, width }, classes: shape.features }
}

function lowerLayer(layer: KerasLayer, shape: TensorShape, batchNorm: BatchNormalizationLayer | undefined): Lowered {
  switch (layer.className) {
    case 'InputLayer':
      throw new UnsupportedLayerError(layer.name, layer.className, 'a second input is not supported')
    case 'Conv2D':
      return lowerConv2D(layer, shape, batchNorm)
    case 'Dense':
      return lowerDense(layer, shape, batchNorm)
    case 'BatchNormalization':
      return lowerBatchNormalization(layer, shape)
    case 'LeakyReLU':
      return { steps: [(g, x, out) => g.node('LeakyRelu', [x], { alpha: attr.float(layer.alpha) }, out)], shape }
    case 'ReLU':
      return { steps: activationSteps('relu'), shape }
    case 'Activation':
      return { steps: activationSteps(layer.activation), shape }
    case 'MaxPooling2D':
      return lowerMaxPooling2D(layer, shape)
    case 'GlobalAveragePooling2D': {
      const image = expectImage(layer, shape)
      return {
        steps: [(g, x, out) => g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: attr.int(1) }, out)],
        shape: { rank: 2, features: image.channels },
      }
    }
    case 'Flatten': {
      if (shape.rank === 2) return { steps: [], shape }
      // Keras flattens in height, width, channel order; the graph holds channels first, so go back to NHWC first.
      const transposed: Step = (g, x, out) =>
        g.node('Flatten', [g.node('Transpose', [x], { perm: attr.ints(0, 2, 3, 1) })], { axis: attr.int(1) }, out)
      return { steps: [transposed], shape: { rank: 2, features: shape.channels * shape.height * shape.width } }
    }
  }
}

function lowerConv2D(layer: Conv2DLayer, shape: TensorShape, batchNorm: BatchNormalizationLayer | undefined): Lowered {
  const image = expectImage(layer, shape)
  const [kernelHeight, kernelWidth, inChannels, filters] = layer.kernel.shape as [number, number, number, number]
  expectSize(layer, 'input channels', inChannels, image.channels)
  if (batchNorm) expectSize(batchNorm, 'channels', batchNorm.gamma.length, filters)
  const { pads, height, width } = kerasPadding2d(image, layer.kernelSize, layer.strides, layer.padding)
  const { kernel, bias } = batchNorm
    ? foldBatchNorm(layer.kernel.data, layer.bias?.data, batchNorm)
    : { kernel: layer.kernel.data, bias: layer.bias?.data }
  const weight = hwioToOihw(kernel, kernelHeight, kernelWidth, inChannels, filters)
  const conv: Step = (g, x, out) => {
    const inputs = [x, g.initializer(`${layer.name}.weight`, [filters, inChannels, kernelHeight, kernelWidth], weight)]
    if (bias) inputs.push(g.initializer(`${layer.name}.bias`, [filters], bias))
    return g.node(
      'Conv',
      inputs,
      { kernel_shape: attr.ints(...layer.kernelSize), strides: attr.ints(...layer.strides), pads: attr.ints(...pads) },
      out,
    )
  }
  return { steps: [conv, ...activationSteps(layer.activation)], shape: { rank: 4, channels: filters, height, width } }
}

function lowerDense(layer: DenseLayer, shape: TensorShape, batchNorm: BatchNormalizationLayer | undefined): Lowered {
  if (shape.rank !== 2) {
    throw new UnsupportedLayerError(layer.name, layer.className, `needs a flat input, not [${describe(shape)}]`)
  }
  const [inFeatures, units] = layer.kernel.shape as [number, number]
  expectSize(layer, 'input features', inFeatures, shape.features)
  if (batchNorm) expectSize(batchNorm, 'channels', batchNorm.gamma.length, units)
  const { kernel, bias } = batchNorm
    ? foldBatchNorm(layer.kernel.data, layer.bias?.data, batchNorm)
    : { kernel: layer.kernel.data, bias: layer.bias?.data }
  // Gemm takes B as [in, out] without transB: exactly Keras' kernel layout.
  const gemm: Step = (g, x, out) => {
    const inputs = [x, g.initializer(`${layer.name}.weight`, [inFeatures, units], kernel)]
    if (bias) inputs.push(g.initializer(`${layer.name}.bias`, [units], bias))
    return g.node('Gemm', inputs, {}, out)
  }
  return { steps: [gemm, ...activationSteps(layer.activation)], shape: { rank: 2, features: units } }
}

function lowerBatchNormalization(layer: BatchNormalizationLayer, shape: TensorShape): Lowered {
  expectSize(layer, 'channels', layer.gamma.length, shape.rank === 4 ? shape.channels : shape.features)
  // ONNX normalises axis 1, the channel axis of both NCHW and [N, features].
  const step: Step = (g, x, out) => {
    const vector = (suffix: string, data: Float32Array) => g.initializer(`${layer.name}.${suffix}`, [data.length], data)
    const inputs = [
      x,
      vector('gamma', layer.gamma),
      vector('beta', layer.beta),
      vector('moving_mean', layer.movingMean),
      vector('moving_variance', layer.movingVariance),
    ]
    return g.node('BatchNormalization', inputs, { epsilon: attr.float(layer.epsilon) }, out)
  }
  return { steps: [step], shape }
}

function lowerMaxPooling2D(layer: MaxPooling2DLayer, shape: TensorShape): Lowered {
  const image = expectImage(layer, shape)
  const { pads, height, width } = kerasPadding2d(image, layer.poolSize, layer.strides, layer.padding)
  // ONNX MaxPool never lets a padded cell win (it pads with −∞), as TF's `same` max-pooling ignores them.
  const pool: Step = (g, x, out) =>
    g.node(
      'MaxPool',
      [x],
      { kernel_shape: attr.ints(...layer.poolSize), strides: attr.ints(...layer.strides), pads: attr.ints(...pads) },
      out,
    )
  return { steps: [pool], shape: { ...image, height, width } }
}

function activationSteps(activation: KerasActivation): Step[] {
  switch (activation) {
    case 'linear':
      return []
    case 'relu':
      return [(g, x, out) => g.node('Relu', [x], {}, out)]
    case 'softmax':
      // Keras normalises the last axis: channels, which is axis 1 of NCHW as of [N, features].
      return [(g, x, out) => g.node('Softmax', [x], { axis: attr.int(1) }, out)]
  }
}

/** Keras [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function hwioToOihw(
  kernel: Float32Array,
  height: number,
  width: number,
  inputs: number,
  outputs: number,
): Float32Array {
  const result = new Float32Array(kernel.length)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let i = 0; i < inputs; i++) {
        for (let o = 0; o < outputs; o++) {
          result[((o * inputs + i) * height + y) * width + x] = kernel[((y * width + x) * inputs + i) * outputs + o]!
        }
      }
    }
  }
  return result
}

function expectImage(layer: KerasLayer, shape: TensorShape): Extract<TensorShape, { rank: 4 }> {
  if (shape.rank !== 4) {
    throw new UnsupportedLayerError(layer.name, layer.className, `needs an image input, not [${describe(shape)}]`)
  }
  return shape
}

function expectSize(layer: KerasLayer, what: string, expected: number, actual: number): void {
  if (expected !== actual) {
    throw new UnsupportedLayerError(
      layer.name,
      layer.className,
      `its weights expect ${expected} ${what}, the previous layer gives ${actual}`,
    )
  }
}

function describe(shape: TensorShape): string {
  return shape.rank === 4 ? `N, ${shape.height}, ${shape.width}, ${shape.channels}` : `N, ${shape.features}`
}
