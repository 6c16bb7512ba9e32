import {
  attribute,
  defaultOpset,
  floatValues,
  intAttr,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  rawTensor,
  TENSOR_TYPE,
  tensorDims,
} from '../onnx/onnx-model.ts'
import { type ActivationParams, quantizeBias, quantizeWeightsPerChannel } from './quant-math.ts'

/**
 * Ops whose output ONNX Runtime computes on uint8 with the input's scale and zero point (it drops the Q/DQ pair around
 * them only when both sides match), so their output takes the input's parameters instead of its own calibration.
 */
const SAME_SCALE_OPS = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity'])
/** An op after a quantised Conv/Gemm that ONNX Runtime folds into the Q after it: the Conv's own output needs no Q/DQ. */
const FOLDED_ACTIVATIONS = new Set(['Relu', 'Clip'])
/** Consumers that keep full precision: a classifier's logits are what its probabilities are made of. */
const FLOAT_CONSUMERS = new Set(['Softmax', 'LogSoftmax'])

/** Per-channel weight scales need DequantizeLinear's `axis`, added in opset 13. */
export const QUANTIZED_OPSET = 13

export interface QuantizedGraphSummary {
  /** Conv/Gemm/MatMul nodes now fed int8 weights and uint8 activations. */
  quantizedOps: number
  /** Tensors given a QuantizeLinear/DequantizeLinear pair. */
  quantizedTensors: number
  /** Nodes left in float: their op type and why. */
  leftInFloat: string[]
}

/**
 * Rewrites an fp32 model into QDQ form: every activation with calibrated parameters goes through QuantizeLinear
 * (uint8) and DequantizeLinear, and every Conv/Gemm/MatMul with constant weights reads them as int8 (symmetric, one
 * scale per output channel) and its bias as int32, through DequantizeLinear. The float ops that remain between the
 * pairs are what ONNX Runtime's graph optimiser (level `all`) replaces by its integer kernels (QLinearConv, QGemm,
 * QLinearAdd, QLinearGlobalAveragePool, …). Graph outputs stay float. Edits `model` in place.
 */
export function insertQdq(model: OnnxModel, calibrated: ReadonlyMap<string, ActivationParams>): QuantizedGraphSummary {
  const graph = model.graph
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]))
  const graphOutputs = new Set(graph.output.map((o) => o.name))
  const consumers = consumerMap(graph.node)
  const producers = new Map(graph.node.flatMap((node) => node.output.map((o) => [o, node] as const)))
  const leftInFloat: string[] = []

  const params = new Map<string, ActivationParams>()
  for (const input of graph.input) {
    const p = calibrated.get(input.name)
    if (p && !initializers.has(input.name)) params.set(input.name, p)
  }
  for (const node of graph.node) {
    const passThrough =
      SAME_SCALE_OPS.has(node.opType) && (node.domain ?? '') === '' ? params.get(node.input[0]!) : undefined
    for (const output of node.output) {
      const p = passThrough ?? calibrated.get(output)
      if (p) params.set(output, p)
    }
  }

  const weighted = new Set(graph.node.filter((node) => weightsOf(node, initializers) !== undefined))
  const getsQdq = (tensor: string): boolean => {
    if (!params.has(tensor) || graphOutputs.has(tensor)) return false
    const users = consumers.get(tensor) ?? []
    if (users.length === 0 || users.every((u) => FLOAT_CONSUMERS.has(u.opType))) return false
    const producer = producers.get(tensor)
    const foldedActivation =
      users.length === 1 && FOLDED_ACTIVATIONS.has(users[0]!.opType) && producer && weighted.has(producer)
    return !foldedActivation
  }

  const nodes: OnnxNode[] = []
  const added: OnnxTensor[] = []
  const quantized = new Set<string>()
  const emitQdq = (tensor: string) => {
    const p = params.get(tensor)!
    const scale = `${tensor}_scale`
    const zeroPoint = `${tensor}_zero_point`
    added.push(rawTensor(scale, [], Float32Array.of(p.scale)), rawTensor(zeroPoint, [], Uint8Array.of(p.zeroPoint)))
    nodes.push(
      {
        opType: 'QuantizeLinear',
        name: `${tensor}_QuantizeLinear`,
        input: [tensor, scale, zeroPoint],
        output: [`${tensor}_quantized`],
      },
      {
        opType: 'DequantizeLinear',
        name: `${tensor}_DequantizeLinear`,
        input: [`${tensor}_quantized`, scale, zeroPoint],
        output: [`${tensor}_dequantized`],
      },
    )
    quantized.add(tensor)
  }

  for (const input of graph.input) if (getsQdq(input.name)) emitQdq(input.name)
  let quantizedOps = 0
  for (const node of graph.node) {
    const activation = node.input[0]!
    const weights = weighted.has(node) ? weightsOf(node, initializers) : undefined
    node.input = node.input.map((input) => (quantized.has(input) ? `${input}_dequantized` : input))
    if (weights && quantized.has(activation)) {
      quantizeWeights(node, weights, params.get(activation)!.scale, nodes, added)
      quantizedOps++
    } else if (weights) {
      leftInFloat.push(`${node.opType} ${node.name ?? node.output[0]}: its input has no calibrated range`)
    }
    nodes.push(node)
    for (const output of node.output) if (getsQdq(output)) emitQdq(output)
  }
  graph.node = nodes
  graph.initializer.push(...added)
  delete graph.valueInfo
  pruneUnused(graph)
  raiseOpset(model)
  return { quantizedOps, quantizedTensors: quantized.size, leftInFloat }
}

interface Weights {
  weight: OnnxTensor
  bias: OnnxTensor | undefined
  /** The weight's output-channel axis. */
  axis: number
}

/** The constant float weight (and bias) of a Conv, Gemm or MatMul that can run as an integer kernel. */
function weightsOf(node: OnnxNode, initializers: ReadonlyMap<string, OnnxTensor>): Weights | undefined {
  if ((node.domain ?? '') !== '') return undefined
  const weight = initializers.get(node.input[1] ?? '')
  if (!weight || weight.dataType !== TENSOR_TYPE.FLOAT) return undefined
  const biasName = node.input[2]
  const bias = biasName ? initializers.get(biasName) : undefined
  if (biasName && (!bias || bias.dataType !== TENSOR_TYPE.FLOAT)) return undefined
  const rank = tensorDims(weight).length
  switch (node.opType) {
    case 'Conv':
      return rank >= 3 ? { weight, bias, axis: 0 } : undefined
    case 'Gemm': {
      const plain =
        (attribute(node, 'alpha')?.f ?? 1) === 1 &&
        (attribute(node, 'beta')?.f ?? 1) === 1 &&
        Number(attribute(node, 'transA')?.i ?? 0) === 0
      if (!plain || rank !== 2 || (bias && tensorDims(bias).length !== 1)) return undefined
      return { weight, bias, axis: Number(attribute(node, 'transB')?.i ?? 0) === 1 ? 0 : 1 }
    }
    case 'MatMul':
      return rank === 2 && node.input.length === 2 ? { weight, bias: undefined, axis: 1 } : undefined
    default:
      return undefined
  }
}

/** Replaces a node's float weight and bias by DequantizeLinear of their int8 / int32 versions. */
function quantizeWeights(node: OnnxNode, w: Weights, inputScale: number, nodes: OnnxNode[], added: OnnxTensor[]): void {
  const dims = tensorDims(w.weight)
  const channels = dims[w.axis]!
  const { values, scales } = quantizeWeightsPerChannel(floatValues(w.weight), dims, w.axis)
  const name = `${node.name || node.output[0]}_weight`
  added.push(
    rawTensor(`${name}_quantized`, dims, values),
    rawTensor(`${name}_scale`, [channels], scales),
    rawTensor(`${name}_zero_point`, [channels], new Int8Array(channels)),
  )
  nodes.push({
    opType: 'DequantizeLinear',
    name: `${name}_DequantizeLinear`,
    input: [`${name}_quantized`, `${name}_scale`, `${name}_zero_point`],
    output: [`${name}_dequantized`],
    attribute: [intAttr('axis', w.axis)],
  })
  node.input[1] = `${name}_dequantized`
  if (!w.bias) return
  const bias = quantizeBias(floatValues(w.bias), inputScale, scales)
  const biasName = `${node.name || node.output[0]}_bias`
  added.push(
    rawTensor(`${biasName}_quantized`, [channels], bias.values),
    rawTensor(`${biasName}_scale`, [channels], bias.scales),
    rawTensor(`${biasName}_zero_point`, [channels], new Int32Array(channels)),
  )
  nodes.push({
    opType: 'DequantizeLinear',
    name: `${biasName}_DequantizeLinear`,
    input: [`${biasName}_quantized`, `${biasName}_scale`, `${biasName}_zero_point`],
    output: [`${biasName}_dequantized`],
    attribute: [intAttr('axis', 0)],
  })
  node.input[2] = `${biasName}_dequantized`
}

export function consumerMap(nodes: readonly OnnxNode[]): Map<string, OnnxNode[]> {
  const consumers = new Map<string, OnnxNode[]>()
  for (const node of nodes) {
    for (const input of node.input) {
      if (!input) continue
      if (!consumers.has(input)) consumers.set(input, [])
      consumers.get(input)!.push(node)
    }
  }
  return consumers
}

/** Drops nodes whose outputs nothing reads and initializers no node reads (the float weights replaced by int8). */
export function pruneUnused(graph: OnnxGraph): void {
  const outputs = new Set(graph.output.map((o) => o.name))
  for (;;) {
    const read = new Set(graph.node.flatMap((n) => n.input))
    const kept = graph.node.filter((n) => n.output.some((o) => read.has(o) || outputs.has(o)))
    if (kept.length === graph.node.length) break
    graph.node = kept
  }
  const read = new Set(graph.node.flatMap((n) => n.input))
  const initializerNames = new Set(graph.initializer.map((t) => t.name))
  graph.initializer = graph.initializer.filter((t) => read.has(t.name))
  // Initializers listed as graph inputs too (IR < 4) go with them; the real inputs stay.
  graph.input = graph.input.filter((i) => !initializerNames.has(i.name) || read.has(i.name))
}

/** Opset 13 at least (per-axis DequantizeLinear); BatchNormalization lost its `spatial` attribute in opset 9. */
function raiseOpset(model: OnnxModel): void {
  if (defaultOpset(model) >= QUANTIZED_OPSET) return
  model.opsetImport = [...model.opsetImport.filter((o) => o.domain), { domain: '', version: QUANTIZED_OPSET }]
  for (const node of model.graph.node) {
    if (node.opType === 'BatchNormalization') node.attribute = node.attribute?.filter((a) => a.name !== 'spatial')
  }
  model.irVersion = Math.max(model.irVersion ?? 0, 7)
}
