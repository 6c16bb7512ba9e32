import { attribute, floatValues, type OnnxGraph, type OnnxTensor, rawTensor, tensorDims } from '../onnx/onnx-model.ts'

/**
 * Folds every inference-mode BatchNormalization that directly follows a Conv (and is its only consumer) into the
 * Conv's weights and bias, so the quantiser sees the weights that are actually multiplied: quantising the unfolded
 * kernel and rescaling afterwards in fp32 would cost accuracy and keep a float op between two int8 ones.
 * Returns how many were folded; the graph is edited in place.
 */
export function foldConvBatchNorm(graph: OnnxGraph): number {
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]))
  const consumers = new Map<string, number>()
  for (const node of graph.node) for (const input of node.input) consumers.set(input, (consumers.get(input) ?? 0) + 1)
  const outputs = new Set(graph.output.map((o) => o.name))
  const producer = new Map(graph.node.flatMap((node) => node.output.map((o) => [o, node] as const)))
  const removed = new Set<object>()
  let folded = 0
  for (const bn of graph.node) {
    if (bn.opType !== 'BatchNormalization' || (bn.domain ?? '') !== '' || bn.output.length !== 1) continue
    const conv = producer.get(bn.input[0]!)
    if (conv?.opType !== 'Conv' || consumers.get(conv.output[0]!) !== 1 || outputs.has(conv.output[0]!)) continue
    const [gamma, beta, mean, variance] = bn.input.slice(1).map((name) => initializers.get(name))
    const weight = initializers.get(conv.input[1]!)
    const bias = conv.input[2] ? initializers.get(conv.input[2]) : undefined
    if (!gamma || !beta || !mean || !variance || !weight || (conv.input[2] && !bias)) continue
    const epsilon = attribute(bn, 'epsilon')?.f ?? 1e-5
    const dims = tensorDims(weight)
    const channels = dims[0]!
    const perChannel = (t: OnnxTensor) => floatValues(t)
    const [g, b, m, v] = [gamma, beta, mean, variance].map(perChannel) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ]
    const scale = Float64Array.from(g, (gc, c) => gc / Math.sqrt(v[c]! + epsilon))
    const w = floatValues(weight)
    const inner = w.length / channels
    const newWeight = Float32Array.from(w, (value, i) => value * scale[Math.floor(i / inner)]!)
    const oldBias = bias ? floatValues(bias) : new Float32Array(channels)
    const newBias = Float32Array.from(scale, (s, c) => (oldBias[c]! - m[c]!) * s + b[c]!)
    const weightName = `${conv.input[1]}_bn_folded`
    const biasName = `${conv.output[0]}_bn_folded_bias`
    graph.initializer.push(rawTensor(weightName, dims, newWeight), rawTensor(biasName, [channels], newBias))
    conv.input = [conv.input[0]!, weightName, biasName]
    conv.output = [bn.output[0]!]
    removed.add(bn)
    folded++
  }
  graph.node = graph.node.filter((node) => !removed.has(node))
  return folded
}
