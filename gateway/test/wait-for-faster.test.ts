import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Candidate, candidate } from '../src/balancing/candidate.ts'
import { worthWaitingForFaster } from '../src/balancing/wait-for-faster.ts'

const replica = (id: string, latencyMs: number, load: number, slots = 1): Candidate =>
  candidate(id, load, slots, latencyMs)

test('a short queue waits for a busy fast replica rather than taking the idle slow one', () => {
  const slow = replica('slow', 60, 0)
  const fast = ['a', 'b', 'c'].map((id) => replica(id, 20, 1))
  // 3 fast replicas clear 1 + 1 + 1 in flight plus this job in about 4/(3/20) ≈ 27 ms < 60 ms.
  assert.equal(worthWaitingForFaster(slow, [slow, ...fast], 1), true)
  // With 12 queued, waiting costs about 15/(3/20) = 100 ms > 60 ms: use the slow replica now.
  assert.equal(worthWaitingForFaster(slow, [slow, ...fast], 12), false)
})

test('equally fast replicas never make a job wait (the gateway stays work-conserving)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 1, max: 100 }),
      (latency, slots, loads, queued) => {
        const all = loads.map((load, i) => replica(`r${i}`, latency, load, slots))
        for (const chosen of all) assert.equal(worthWaitingForFaster(chosen, all, queued), false)
      },
    ),
  )
})

test('a longer queue never makes waiting more attractive', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 4 })), {
        minLength: 2,
        maxLength: 8,
      }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 0, max: 50 }),
      (specs, queued, more) => {
        const all = specs.map(([latency, load], i) => replica(`r${i}`, latency, load))
        for (const chosen of all) {
          if (!worthWaitingForFaster(chosen, all, queued))
            assert.equal(worthWaitingForFaster(chosen, all, queued + more), false)
        }
      },
    ),
  )
})
