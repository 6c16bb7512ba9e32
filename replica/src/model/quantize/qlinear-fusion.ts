import type { OnnxModel, OnnxNode, OnnxTensor } from '../onnx/onnx-model.ts'
import { consumerMap, pruneUnused } from './qdq-graph.ts'

/**
 * Turns a QDQ graph's DequantizeLinear → Conv [→ Relu] → QuantizeLinear groups into QLinearConv, and
 * DequantizeLinear → MatMul → QuantizeLinear into QLinearMatMul: the operator form of the same arithmetic, for models
 * served by runtimes that do not fuse QDQ themselves (and to measure whether ONNX Runtime's own fusion is as fast).
 * A Relu is folded only when the output's zero point is 0, where the uint8 floor already clamps negatives. Everything
 * else stays QDQ. Returns the number of fused groups; edits `model` in place.
 */
export function fuseQLinear(model: OnnxModel): number {
  const graph = model.graph
  const producers = new Map(graph.node.flatMap((node) => node.output.map((o) => [o, node] as const)))
  const consumers = consumerMap(graph.node)
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]))
  const outputs = new Set(graph.output.map((o) => o.name))
  const replaced = new Map<OnnxNode, OnnxNode>()
  const removed = new Set<OnnxNode>()
  const dequantized = (name: string | undefined) => {
    const node = name ? producers.get(name) : undefined
    return node?.opType === 'DequantizeLinear' ? node : undefined
  }
  const only = (tensor: string) => {
    const users = consumers.get(tensor) ?? []
    return users.length === 1 && !outputs.has(tensor) ? users[0] : undefined
  }
  let fused = 0
  for (const node of graph.node) {
    if ((node.domain ?? '') !== '' || (node.opType !== 'Conv' && node.opType !== 'MatMul')) continue
    const [x, w, b] = [dequantized(node.input[0]), dequantized(node.input[1]), dequantized(node.input[2])]
    if (!x || !w || (node.input[2] && !b)) continue
    let next = only(node.output[0]!)
    let relu: OnnxNode | undefined
    if (next?.opType === 'Relu') {
      relu = next
      next = only(relu.output[0]!)
    }
    if (next?.opType !== 'QuantizeLinear') continue
    const q = next
    if (relu && !zeroPointIsZero(initializers.get(q.input[2] ?? ''))) continue
    const qInputs = (dq: OnnxNode) => [dq.input[0]!, dq.input[1]!, dq.input[2]!]
    const input =
      node.opType === 'Conv'
        ? [...qInputs(x), ...qInputs(w), q.input[1]!, q.input[2]!, ...(b ? [b.input[0]!] : [])]
        : [...qInputs(x), ...qInputs(w), q.input[1]!, q.input[2]!]
    replaced.set(node, {
      opType: node.opType === 'Conv' ? 'QLinearConv' : 'QLinearMatMul',
      name: `${node.name || node.output[0]}_qlinear`,
      input,
      output: [q.output[0]!],
      ...(node.opType === 'Conv' && node.attribute && { attribute: node.attribute }),
    })
    removed.add(q)
    if (relu) removed.add(relu)
    fused++
  }
  graph.node = graph.node.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n)
  pruneUnused(graph)
  return fused
}

function zeroPointIsZero(tensor: OnnxTensor | undefined): boolean {
  if (!tensor) return true
  const bytes = tensor.rawData ?? Uint8Array.from(tensor.int32Data ?? [])
  return bytes.every((v) => v === 0)
}
