import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { topKSoftmax } from '../src/postprocess.ts'

test('topKSoftmax equals a full softmax ordered by logit (ties: lower index first)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true }), { minLength: 5, maxLength: 60 }),
      fc.integer({ min: 1, max: 5 }),
      (values, k) => {
        const logits = Float32Array.from(values)
        const max = Math.max(...logits)
        const exps = Array.from(logits, (v) => Math.exp(v - max))
        const sum = exps.reduce((a, b) => a + b, 0)
        const reference = exps
          .map((e, i) => ({ class_index: i, confidence: e / sum }))
          .sort((a, b) => logits[b.class_index]! - logits[a.class_index]! || a.class_index - b.class_index)
          .slice(0, k)
        assert.deepEqual(topKSoftmax(logits, k), reference)
      },
    ),
  )
})

test('huge logits do not overflow', () => {
  const top = topKSoftmax(Float32Array.from([1e30, 0, -1e30]), 2)
  assert.deepEqual(top, [
    { class_index: 0, confidence: 1 },
    { class_index: 1, confidence: 0 },
  ])
})
