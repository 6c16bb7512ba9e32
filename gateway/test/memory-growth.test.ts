import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type MemorySample, MIN_WINDOW_SAMPLES, memoryGrowth } from '../bench/memory-growth.ts'

/** A process sampled every 10 s for `count` samples; heap = floor(t) + a sawtooth that returns to 0 every `period`. */
function series(count: number, floor: (i: number) => number, saw: (i: number) => number, rss = 150): MemorySample[] {
  return Array.from({ length: count }, (_, i) => ({
    atS: i * 10,
    process: 'replica',
    rssMb: rss,
    heapMb: floor(i) + saw(i),
  }))
}

const heapOf = (samples: MemorySample[], warmUpS = 0) =>
  memoryGrowth(samples, warmUpS).find((v) => v.metric === 'heapMb')!

test('a flat heap with a GC sawtooth is not growth, however the readings fall on the teeth', () => {
  // The soak's first 30-minute run failed on exactly this: heapUsed 20.4–25.2 MB, a 3-sample median moved 10.7 %.
  const verdict = heapOf(
    series(
      144,
      () => 20.5,
      (i) => ((i * 7) % 9) * 0.5,
    ),
  )
  assert.equal(verdict.growth, 0)
})

test('a leak shows: the floor after GC rising by a fifth fails a 10 % bound', () => {
  const verdict = heapOf(
    series(
      144,
      (i) => 20 + (4 * i) / 143,
      (i) => ((i * 7) % 9) * 0.5,
    ),
  )
  assert.ok(verdict.growth > 0.15, `growth ${verdict.growth}`)
})

test('warm-up samples are ignored, and too few samples give no verdict', () => {
  const warming = series(
    60,
    (i) => (i < 30 ? 5 + i : 35),
    () => 0,
  )
  assert.equal(heapOf(warming, 300).growth, 0)
  assert.deepEqual(
    memoryGrowth(
      series(
        2 * MIN_WINDOW_SAMPLES - 1,
        () => 20,
        () => 0,
      ),
      0,
    ),
    [],
  )
})

test('property: a constant floor under any sawtooth that touches it in each window reads as no heap growth', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2 * MIN_WINDOW_SAMPLES, max: 400 }),
      fc.double({ min: 5, max: 500, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 1, maxLength: 20 }),
      (count, floor, teeth) => {
        // Every MIN_WINDOW_SAMPLES-th reading is just after a collection (tooth 0).
        const saw = (i: number) => (i % MIN_WINDOW_SAMPLES === 0 ? 0 : teeth[i % teeth.length]!)
        assert.equal(heapOf(series(count, () => floor, saw)).growth, 0)
      },
    ),
  )
})
