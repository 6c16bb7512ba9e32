export interface ClassScore {
  class_index: number
  confidence: number
}

/**
 * The k most probable classes of one row of logits, best first (ties: lower index first). Softmax is computed
 * in float64 with the maximum subtracted, so large logits cannot overflow.
 */
export function topKSoftmax(logits: Float32Array, k: number): ClassScore[] {
  const top: number[] = []
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!
    if (top.length === k && v <= logits[top[k - 1]!]!) continue
    let at = top.length
    while (at > 0 && logits[top[at - 1]!]! < v) at--
    top.splice(at, 0, i)
    if (top.length > k) top.pop()
  }
  const max = logits[top[0]!]!
  let sum = 0
  for (const v of logits) sum += Math.exp(v - max)
  return top.map((i) => ({ class_index: i, confidence: Math.exp(logits[i]! - max) / sum }))
}
