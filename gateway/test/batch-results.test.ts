import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { sameLabel } from '../../common/image-labels.ts'
import { percentile } from '../../common/percentile.ts'
import { aggregateBatchResults, type ItemResult } from '../src/batch/batch-results.ts'

const LABELS = ['tench', 'goldfish', 'great white shark', 'Great_White_Shark', 'hen']

const item: fc.Arbitrary<ItemResult> = fc.oneof(
  fc.record({
    image: fc.string(),
    truth: fc.option(fc.constantFrom(...LABELS), { nil: undefined }),
    ok: fc.constant(true as const),
    label: fc.constantFrom(...LABELS),
    top5: fc.array(fc.constantFrom(...LABELS), { maxLength: 5 }),
    latencyMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
    queueMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
  }),
  fc.record({
    image: fc.string(),
    truth: fc.option(fc.constantFrom(...LABELS), { nil: undefined }),
    ok: fc.constant(false as const),
    errorCode: fc.constantFrom('invalid_image', 'deadline_exceeded', 'upstream_failed'),
  }),
)

describe('aggregateBatchResults', () => {
  test('counts and accuracies match a direct count, whatever the order of the outcomes', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 60 }), fc.double({ min: 0.001, max: 1000, noNaN: true }), (items, s) => {
        const results = aggregateBatchResults(items, s)
        const predictions = items.filter((i) => i.ok)
        const labelled = predictions.filter((i) => i.truth !== undefined)
        assert.equal(results.images, items.length)
        assert.equal(results.evaluated, labelled.length)
        assert.equal(results.unlabelled, predictions.length - labelled.length)
        assert.equal(results.errors.count, items.length - predictions.length)
        assert.equal(
          Object.values(results.errors.by_code).reduce((a, b) => a + b, 0),
          results.errors.count,
        )
        const top1 = labelled.filter((i) => sameLabel(i.label, i.truth!)).length
        assert.equal(results.top1_accuracy, labelled.length ? top1 / labelled.length : null)
        if (results.top1_accuracy !== null) assert.ok(results.top5_accuracy! >= results.top1_accuracy)
        assert.equal(results.images_per_second, items.length / s)
        assert.deepEqual(aggregateBatchResults([...items].reverse(), s), results)
      }),
    )
  })

  test('latency percentiles are the shared nearest-rank ones of the predictions, in order', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 60 }), (items) => {
        const results = aggregateBatchResults(items, 1)
        const latencies = items.flatMap((i) => (i.ok ? [i.latencyMs] : []))
        if (latencies.length === 0) {
          assert.equal(results.latency_ms, null)
          return
        }
        const { p50, p95, p99 } = results.latency_ms!
        assert.ok(p50 <= p95 && p95 <= p99)
        assert.equal(p99, Math.round(percentile(latencies, 0.99) * 100) / 100)
      }),
    )
  })

  test('labels match by name: case and _ against space do not matter; a top-5 hit counts the best class too', () => {
    const results = aggregateBatchResults(
      [
        {
          image: 'a',
          truth: 'great white shark',
          ok: true,
          label: 'Great_White_Shark',
          top5: [],
          latencyMs: 1,
          queueMs: 0,
        },
        { image: 'b', truth: 'tench', ok: true, label: 'hen', top5: ['hen', 'TENCH'], latencyMs: 2, queueMs: 0 },
        { image: 'c', truth: 'tench', ok: true, label: 'hen', top5: ['hen'], latencyMs: 3, queueMs: 0 },
        { image: 'd', truth: 'tench', ok: false, errorCode: 'invalid_image' },
      ],
      2,
    )
    assert.equal(results.evaluated, 3)
    assert.equal(results.top1_accuracy, 1 / 3)
    assert.equal(results.top5_accuracy, 2 / 3)
    assert.deepEqual(results.errors, { count: 1, by_code: { invalid_image: 1 } })
    assert.equal(results.images_per_second, 2)
  })
})
