import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { expectedAnswer, expectedQueueWaitMs } from '../src/admission/expected-wait.ts'

test('expected wait, every slot busy: (queued + 1) / Σ(slots / latency); unknown without a measured replica', () => {
  assert.equal(expectedQueueWaitMs(0, []), undefined)
  assert.equal(expectedQueueWaitMs(9, [{ slots: 1, latencyMs: 40, load: 1 }]), 400)
  assert.equal(
    expectedQueueWaitMs(9, [
      { slots: 1, latencyMs: 40, load: 1 },
      { slots: 1, latencyMs: 40, load: 1 },
    ]),
    200,
  )
  assert.equal(expectedQueueWaitMs(3, [{ slots: 2, latencyMs: 0, load: 2 }]), undefined)
  // Measured completions win when they are faster than the latency estimate.
  assert.ok(Math.abs(expectedQueueWaitMs(9, [{ slots: 1, latencyMs: 40, load: 1 }], 50)! - 200) < 1e-9)
  assert.equal(expectedQueueWaitMs(9, [{ slots: 1, latencyMs: 40, load: 1 }], 10), 400)
  const two = [
    { slots: 1, latencyMs: 40, load: 1 },
    { slots: 1, latencyMs: 60, load: 1 },
  ]
  assert.ok(
    Math.abs(expectedAnswer(9, two)!.answerMs - 40 - expectedQueueWaitMs(9, two)!) < 1e-9,
    'plus the fastest latency',
  )
})

test('expected wait: nothing while a slot is free; beyond the free slots, the jobs ahead of it drain first', () => {
  const idle = [{ slots: 2, latencyMs: 100, load: 0 }]
  assert.equal(expectedQueueWaitMs(0, idle), 0)
  assert.equal(expectedQueueWaitMs(1, idle), 0)
  assert.equal(expectedQueueWaitMs(2, idle), 50, 'one job beyond the two free slots: one completion at 2 per 100 ms')
  assert.equal(expectedAnswer(0, idle)?.answerMs, 100, 'an idle replica answers in its own latency')
  const busyElsewhere = [{ slots: 2, latencyMs: 100, load: 2 }]
  assert.equal(expectedQueueWaitMs(0, busyElsewhere), 50, 'load from other gateways (ours 1, theirs 1) takes slots too')
})

test('property: more queued means a longer wait; another replica never makes it longer', () => {
  const replica = fc
    .record({
      slots: fc.integer({ min: 1, max: 8 }),
      latencyMs: fc.double({ min: 1, max: 5000, noNaN: true }),
      busy: fc.nat(8),
    })
    .map(({ slots, latencyMs, busy }) => ({ slots, latencyMs, load: Math.min(slots, busy) }))
  fc.assert(
    fc.property(
      fc.array(replica, { minLength: 1, maxLength: 10 }),
      replica,
      fc.nat(1000),
      (replicas, extra, queued) => {
        const wait = expectedQueueWaitMs(queued, replicas)!
        assert.ok(expectedQueueWaitMs(queued + 1, replicas)! >= wait)
        assert.ok(expectedQueueWaitMs(queued, [...replicas, extra])! <= wait)
      },
    ),
  )
})
