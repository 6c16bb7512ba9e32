import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { createRandom } from '../../common/random.ts'
import { arrivalsInSecond } from '../src/arrivals.ts'

test('every mode keeps the per-second count and stays inside its second, in order', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 600 }),
      fc.nat({ max: 200 }),
      fc.constantFrom('poisson', 'uniform', 'burst' as const),
      fc.integer(),
      (second, count, mode, seed) => {
        const times = arrivalsInSecond(second, count, mode, createRandom(seed))
        assert.equal(times.length, count)
        for (let i = 0; i < times.length; i++) {
          assert.ok(times[i]! >= second * 1000 && times[i]! < (second + 1) * 1000)
          if (i > 0) assert.ok(times[i]! >= times[i - 1]!)
        }
      },
    ),
  )
})

test('poisson: with a fixed seed, gaps look exponential (CV ≈ 1, ~63 % below the mean)', () => {
  const random = createRandom(42)
  const times = Array.from({ length: 200 }, (_, s) => arrivalsInSecond(s, 50, 'poisson', random)).flat()
  const gaps = times.slice(1).map((t, i) => t - times[i]!)
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length)
  assert.ok(Math.abs(mean - 20) < 0.5, `mean gap ${mean}`)
  assert.ok(Math.abs(sd / mean - 1) < 0.08, `coefficient of variation ${sd / mean}`)
  const below = gaps.filter((g) => g < mean).length / gaps.length
  assert.ok(Math.abs(below - (1 - Math.exp(-1))) < 0.03, `share below the mean ${below}`)
  // The same seed gives the same schedule.
  assert.deepEqual(
    arrivalsInSecond(3, 10, 'poisson', createRandom(5)),
    arrivalsInSecond(3, 10, 'poisson', createRandom(5)),
  )
})

test('uniform: evenly spaced; burst: all at the start of the second', () => {
  const uniform = arrivalsInSecond(2, 4, 'uniform', createRandom(1))
  assert.deepEqual(uniform, [2125, 2375, 2625, 2875])
  assert.deepEqual(arrivalsInSecond(5, 3, 'burst', createRandom(1)), [5000, 5000, 5000])
})
