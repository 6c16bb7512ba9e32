import { readFile } from 'node:fs/promises'
import ort from 'onnxruntime-node'
import type { PreprocessSpec } from '../../preprocess.ts'
import { imageToTensor } from '../../preprocess.ts'
import {
  attribute,
  decodeOnnxModel,
  encodeOnnxModel,
  type OnnxModel,
  type OnnxNode,
  TENSOR_TYPE,
} from '../onnx/onnx-model.ts'
import {
  addToHistogram,
  type CalibrationMethod,
  chooseRange,
  emptyHistogram,
  type RangeHistogram,
  RunningMinMax,
} from './calibration-ranges.ts'
import { type ActivationParams, activationParams } from './quant-math.ts'

/** Ops whose outputs are not float activations (shapes, indices) or are computed from constants only. */
const NOT_ACTIVATIONS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'Constant', 'Cast', 'TopK'])

export interface CalibrationOptions {
  images: readonly string[]
  preprocess: Omit<PreprocessSpec, 'maxInputPixels'>
  method: CalibrationMethod
  /** For `percentile`: the share of values kept inside the range on each side, e.g. 0.9999. */
  percentile: number
  onImage?: (done: number, total: number, pass: number) => void
}

export interface CalibratedTensor {
  /** Extremes seen over the calibration images. */
  seen: { min: number; max: number }
  /** The range chosen by the method. */
  range: { min: number; max: number }
  params: ActivationParams
}

/**
 * Runs the fp32 model on the calibration images with every activation added as a graph output (ONNX Runtime then
 * returns them all), and chooses each one's uint8 range: a first pass finds the extremes; for `percentile` a second
 * pass fills a histogram over them, from which the outliers are cut.
 */
export async function calibrate(
  modelBytes: Uint8Array,
  options: CalibrationOptions,
): Promise<Map<string, CalibratedTensor>> {
  const model = decodeOnnxModel(modelBytes)
  const tensors = activationTensors(model)
  const inputName = tensors[0]!
  const negativeWeights = negativeWeightsOf(model)
  for (const name of tensors.slice(1)) {
    model.graph.output.push({ name, type: { tensorType: { elemType: TENSOR_TYPE.FLOAT } } })
  }
  const session = await ort.InferenceSession.create(encodeOnnxModel(model), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'basic',
  })
  // One spec object for every image: the normaliser caches its tables per spec.
  const preprocess = { ...options.preprocess, maxInputPixels: 100_000_000 }
  const shape = [
    1,
    ...(preprocess.layout === 'NCHW'
      ? [3, preprocess.inputSize, preprocess.inputSize]
      : [preprocess.inputSize, preprocess.inputSize, 3]),
  ]
  const run = async (path: string, each: (name: string, values: Float32Array) => void) => {
    const input = await imageToTensor(await readFile(path), preprocess)
    const feed = new ort.Tensor('float32', input, shape)
    each(inputName, input)
    const results = await session.run({ [inputName]: feed }, tensors.slice(1))
    for (const [name, value] of Object.entries(results)) {
      if (value.type === 'float32') each(name, value.data as Float32Array)
      value.dispose()
    }
  }
  try {
    const extremes = new Map(tensors.map((name) => [name, new RunningMinMax()]))
    for (const [i, path] of options.images.entries()) {
      await run(path, (name, values) => extremes.get(name)?.add(values))
      options.onImage?.(i + 1, options.images.length, 1)
    }
    const histograms = new Map<string, RangeHistogram>()
    for (const [name, seen] of extremes) {
      if (Number.isFinite(seen.min)) histograms.set(name, emptyHistogram(seen.min, seen.max))
    }
    if (options.method !== 'minmax') {
      for (const [i, path] of options.images.entries()) {
        await run(path, (name, values) => {
          const histogram = histograms.get(name)
          if (histogram) addToHistogram(histogram, values)
        })
        options.onImage?.(i + 1, options.images.length, 2)
      }
    }
    const calibrated = new Map<string, CalibratedTensor>()
    for (const [name, histogram] of histograms) {
      const range = chooseRange(options.method, histogram, {
        percentile: options.percentile,
        negativeWeight: negativeWeights.get(name) ?? 1,
      })
      calibrated.set(name, {
        seen: { min: histogram.min, max: histogram.max },
        range,
        params: activationParams(range.min, range.max),
      })
    }
    return calibrated
  } finally {
    await session.release()
  }
}

/**
 * How much an error on a tensor's negative values counts where it goes next: a LeakyRelu that is its only reader
 * scales them by its slope, a Relu drops them; elsewhere 1.
 */
function negativeWeightsOf(model: OnnxModel): Map<string, number> {
  const readers = new Map<string, OnnxNode[]>()
  for (const node of model.graph.node)
    for (const input of node.input) readers.set(input, [...(readers.get(input) ?? []), node])
  const weights = new Map<string, number>()
  for (const [tensor, nodes] of readers) {
    if (nodes.length !== 1) continue
    const reader = nodes[0]!
    if (reader.opType === 'LeakyRelu') weights.set(tensor, Math.abs(attribute(reader, 'alpha')?.f ?? 0.01))
    else if (reader.opType === 'Relu') weights.set(tensor, 0)
  }
  return weights
}

/** The graph input, then every node output that is a float activation, in graph order. */
function activationTensors(model: OnnxModel): string[] {
  const constants = new Set(model.graph.initializer.map((t) => t.name))
  const input = model.graph.input.find((i) => !constants.has(i.name))
  if (!input) throw new Error('the model has no input')
  const outputs = new Set(model.graph.output.map((o) => o.name))
  const names = [input.name]
  for (const node of model.graph.node) {
    const fromConstants = node.input.every((i) => !i || constants.has(i))
    if (NOT_ACTIVATIONS.has(node.opType) || fromConstants) {
      for (const output of node.output) constants.add(output)
      continue
    }
    for (const output of node.output) if (output && !outputs.has(output)) names.push(output)
  }
  return names
}
