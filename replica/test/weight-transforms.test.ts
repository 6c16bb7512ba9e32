import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { pruneSmallest, roundToBits, transformSuffix } from '../src/model/importer/weight-transforms.ts'

const weights = fc.float32Array({
  noNaN: true,
  noDefaultInfinity: true,
  min: -10,
  max: 10,
  minLength: 1,
  maxLength: 300,
})

test('property: rounding to b bits moves each weight by at most half a step and leaves at most 2^b − 1 values', () => {
  fc.assert(
    fc.property(weights, fc.integer({ min: 2, max: 12 }), (data, bits) => {
      const rounded = roundToBits(data, bits)
      const max = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      const step = max / (2 ** (bits - 1) - 1)
      for (const [i, value] of rounded.entries()) {
        assert.ok(Math.abs(value - data[i]!) <= step / 2 + max * 1e-6, `${data[i]} → ${value}, step ${step}`)
      }
      assert.ok(new Set(rounded).size <= 2 ** bits - 1)
    }),
  )
})

test('property: pruning a share zeroes ⌊share·n⌋ weights, none larger in magnitude than any kept', () => {
  fc.assert(
    fc.property(weights, fc.double({ min: 0, max: 0.99, noNaN: true }), (data, share) => {
      const pruned = pruneSmallest(data, share)
      const zeroed = [...pruned.keys()].filter((i) => pruned[i] === 0 && data[i] !== 0)
      const count = Math.floor(share * data.length)
      const alreadyZero = [...data.keys()].filter((i) => data[i] === 0).length
      assert.ok(zeroed.length <= count && zeroed.length >= count - alreadyZero)
      const kept = [...pruned.keys()].filter((i) => pruned[i] !== 0)
      const largestZeroed = Math.max(0, ...zeroed.map((i) => Math.abs(data[i]!)))
      for (const i of kept) {
        assert.equal(pruned[i], data[i])
        assert.ok(Math.abs(data[i]!) >= largestZeroed)
      }
    }),
  )
})

test('a transformed version says so in its name', () => {
  assert.equal(transformSuffix({}), '')
  assert.equal(transformSuffix({ bits: 8 }), '-int8')
  assert.equal(transformSuffix({ prune: 0.3, bits: 8 }), '-pruned30-int8')
})
