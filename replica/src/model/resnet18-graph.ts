import { createHash } from 'node:crypto'
import { createRandom, type Random } from '../../../common/random.ts'
import { attr, OnnxGraphBuilder } from './onnx/onnx-graph.ts'

export const RESNET18_INPUT = 'input'
export const RESNET18_OUTPUT = 'logits'
export { UNTRAINED_MODEL_VERSION_PREFIX } from './untrained.ts'

export interface GeneratedModel {
  bytes: Uint8Array
  parameterCount: number
  /** sha256 of the weights alone, so a changed generator is noticed even if the encoder output shifts. */
  weightsSha256: string
  seed: number
}

/**
 * The exact ResNet18 topology (He et al. 2015, torchvision's layout: 7×7 stem, max-pool, four stages of two
 * BasicBlocks at 64/128/256/512 channels, global average pool, 1000-way fully connected layer) with every
 * BatchNorm folded into its convolution as a bias. Weights are untrained: drawn from a seeded generator with
 * He-uniform scaling, so activations stay in a sane range and latency and memory are those of the real network.
 */
export function buildUntrainedResnet18(seed: number, numClasses = 1000): GeneratedModel {
  const random = createRandom(seed)
  const weightsHash = createHash('sha256')
  const g = new OnnxGraphBuilder('resnet18')

  const weight = (name: string, dims: number[], bound: number) => {
    const data = uniform(random, dims, bound)
    weightsHash.update(new Uint8Array(data.buffer))
    return g.initializer(name, dims, data)
  }

  /** Conv with its folded BatchNorm (a bias); `gain` shrinks residual branches so depth does not blow up. */
  const conv = (name: string, x: string, cIn: number, cOut: number, kernel: number, stride: number, gain = 1) => {
    const fanIn = cIn * kernel * kernel
    const w = weight(`${name}.weight`, [cOut, cIn, kernel, kernel], gain * Math.sqrt(6 / fanIn))
    const b = weight(`${name}.bias`, [cOut], 0.05)
    const pad = Math.floor(kernel / 2)
    return g.node('Conv', [x, w, b], {
      kernel_shape: attr.ints(kernel, kernel),
      strides: attr.ints(stride, stride),
      pads: attr.ints(pad, pad, pad, pad),
    })
  }

  const basicBlock = (name: string, x: string, cIn: number, cOut: number, stride: number) => {
    const branch = g.node('Relu', [conv(`${name}.conv1`, x, cIn, cOut, 3, stride)])
    const residual = conv(`${name}.conv2`, branch, cOut, cOut, 3, 1, Math.SQRT1_2)
    const shortcut =
      stride !== 1 || cIn !== cOut ? conv(`${name}.downsample`, x, cIn, cOut, 1, stride, Math.SQRT1_2) : x
    return g.node('Relu', [g.node('Add', [residual, shortcut])])
  }

  let x = g.input(RESNET18_INPUT, ['N', 3, 224, 224])
  x = g.node('Relu', [conv('conv1', x, 3, 64, 7, 2)])
  x = g.node('MaxPool', [x], {
    kernel_shape: attr.ints(3, 3),
    strides: attr.ints(2, 2),
    pads: attr.ints(1, 1, 1, 1),
  })
  const stages = [64, 128, 256, 512]
  let channels = 64
  stages.forEach((width, i) => {
    const stride = i === 0 ? 1 : 2
    x = basicBlock(`layer${i + 1}.0`, x, channels, width, stride)
    x = basicBlock(`layer${i + 1}.1`, x, width, width, 1)
    channels = width
  })
  x = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: attr.int(1) })
  const fcBound = 1 / Math.sqrt(channels)
  const fcWeight = weight('fc.weight', [numClasses, channels], fcBound)
  const fcBias = weight('fc.bias', [numClasses], fcBound)
  g.node('Gemm', [x, fcWeight, fcBias], { transB: attr.int(1) }, RESNET18_OUTPUT)
  g.output(RESNET18_OUTPUT, ['N', numClasses])

  const weightsSha256 = weightsHash.digest('hex')
  const bytes = g.encode({
    producerName: 'switchyard',
    producerVersion: '1',
    opsetVersion: 13,
    docString: 'ResNet18 topology with UNTRAINED, seeded weights: predictions are meaningless.',
    metadata: {
      'switchyard.model': 'resnet18',
      'switchyard.pretrained': 'false',
      'switchyard.seed': String(seed),
      'switchyard.weights_sha256': weightsSha256,
    },
  })
  return { bytes, parameterCount: g.parameterCount, weightsSha256, seed }
}

function uniform(random: Random, dims: number[], bound: number): Float32Array {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1))
  for (let i = 0; i < data.length; i++) data[i] = (2 * random() - 1) * bound
  return data
}
