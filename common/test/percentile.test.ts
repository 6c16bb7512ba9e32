import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { percentile, percentileOfSorted } from '../percentile.ts'

test('nearest rank: the smallest value with at least p·n values ≤ it, and always one of the values', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -1000, max: 10_000 }), { minLength: 1, maxLength: 300 }),
      // p as a fraction of whole numbers, so "at least p·n" is checked exactly, without float rounding.
      fc.integer({ min: 0, max: 1000 }),
      (values, thousandths) => {
        const sorted = [...values].sort((a, b) => a - b)
        const result = percentileOfSorted(sorted, thousandths / 1000)
        const atOrBelow = sorted.filter((v) => v <= result).length
        const below = sorted.filter((v) => v < result).length
        assert.ok(sorted.includes(result))
        assert.ok(atOrBelow * 1000 >= thousandths * sorted.length, 'at least p·n values ≤ it')
        // Smallest such value: fewer than p·n values lie strictly below it (for p = 0, none).
        assert.ok(below === 0 || below * 1000 < thousandths * sorted.length, 'no smaller value qualifies')
        assert.equal(percentile(values, thousandths / 1000), result, 'order of the input does not matter')
      },
    ),
  )
})

test('the usual cases: p99 of 1..100 is 99, p50 of 1..4 is 2, ends and empty input', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1)
  assert.equal(percentile(hundred, 0.99), 99)
  assert.equal(percentile(hundred, 0.5), 50)
  assert.equal(percentile(hundred, 0.07), 7, '0.07 × 100 is 7.000000000000001 in floats: still rank 7')
  assert.equal(percentile([4, 1, 3, 2], 0.5), 2)
  assert.equal(percentile([4, 1, 3, 2], 0), 1)
  assert.equal(percentile([4, 1, 3, 2], 1), 4)
  assert.ok(Number.isNaN(percentile([], 0.99)))
})
