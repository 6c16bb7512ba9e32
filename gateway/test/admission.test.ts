import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  ADMISSION_HEADROOM,
  admissionRefusal,
  type LoadNow,
  requestBudget,
  retryAfterSeconds,
  wouldMissDeadline,
} from '../src/admission/admission.ts'

const settings = { defaultTimeoutMs: 30_000, sloMs: 500 }
const busyReplica = { slots: 1, latencyMs: 100, load: 1 }
const calm: LoadNow = {
  shuttingDown: false,
  readyReplicas: 1,
  queueRoom: 'ok',
  queued: 0,
  replicas: [busyReplica],
  measuredPace: 10,
  recentPerSecond: 10,
}

describe('admission policy (pure)', () => {
  test('the budget is the named deadline, else the SLO (never beyond the default timeout)', () => {
    assert.deepEqual(requestBudget(200, settings), { timeoutMs: 200, budgetMs: 200, namedDeadline: true })
    assert.deepEqual(requestBudget(undefined, settings), { timeoutMs: 30_000, budgetMs: 500, namedDeadline: false })
    assert.equal(requestBudget(undefined, { defaultTimeoutMs: 300, sloMs: 500 }).budgetMs, 300)
  })

  test('refusals in order: shutting down, no replica, queue bounds, then the expected answer time', () => {
    const budget = requestBudget(undefined, settings)
    const refuse = (load: Partial<LoadNow>) => admissionRefusal(undefined, budget, { ...calm, ...load }, settings)
    assert.equal(refuse({ shuttingDown: true, readyReplicas: 0, queueRoom: 'count' })?.code, 'shutting_down')
    assert.equal(refuse({ readyReplicas: 0, queueRoom: 'count' })?.code, 'no_replica')
    assert.equal(
      admissionRefusal('darknet', budget, { ...calm, readyReplicas: 0 }, settings)?.message.includes('darknet'),
      true,
    )
    const full = refuse({ queueRoom: 'bytes', queued: 19 })
    assert.equal(full?.code, 'queue_full')
    assert.equal(full?.reason, 'queue_full')
    assert.equal(full?.retryAfterSeconds, 2, '20 requests at 10 per second')
    // 9 queued behind a busy 100 ms replica: ~1,000 ms + 100 ms, beyond 0.8 × 500 ms.
    const late = refuse({ queued: 9 })
    assert.equal(late?.code, 'would_miss_deadline')
    assert.equal(late?.reason, 'would_miss_deadline')
    assert.match(late!.message, /500 ms SLO/)
    assert.equal(late?.retryAfterSeconds, 2)
    assert.equal(refuse({}), undefined)
  })

  test('property: no refusal on time without a measured pace, nor for a request that would be sent at once', () => {
    fc.assert(
      fc.property(
        fc.nat(200),
        fc.array(
          fc.record({
            slots: fc.integer({ min: 1, max: 4 }),
            latencyMs: fc.double({ min: 1, max: 5000, noNaN: true }),
            load: fc.nat(4),
          }),
          { maxLength: 6 },
        ),
        fc.option(fc.double({ min: 0.01, max: 1000, noNaN: true }), { nil: undefined }),
        (queued, replicas, measuredPace) => {
          const budget = requestBudget(undefined, settings)
          const wait = wouldMissDeadline(budget, { queued, replicas, measuredPace })
          if (measuredPace === undefined) assert.equal(wait, undefined)
          const free = replicas.reduce((sum, r) => sum + Math.max(0, r.slots - r.load), 0)
          if (queued < free) assert.equal(wait, undefined, 'a free slot: sent at once, always admitted')
          if (wait !== undefined) assert.ok(wait > budget.budgetMs * ADMISSION_HEADROOM)
        },
      ),
    )
  })

  test('the headroom: an answer expected within the deadline but beyond 80 % of it is refused; at 80 %, admitted', () => {
    // Two ahead of a busy 100 ms replica at 10 per second: sent in ~300 ms, answered in ~400 ms.
    const load = { queued: 2, replicas: [busyReplica], measuredPace: 10 }
    assert.equal(wouldMissDeadline(requestBudget(450, settings), load), 400, '400 ms < the 450 ms deadline, > 360 ms')
    assert.equal(
      admissionRefusal(undefined, requestBudget(450, settings), { ...calm, ...load }, settings)?.code,
      'would_miss_deadline',
    )
    assert.equal(wouldMissDeadline(requestBudget(500, settings), load), undefined, 'exactly 80 % of 500 ms')
    fc.assert(
      fc.property(fc.nat(50), fc.double({ min: 0.81, max: 1, noNaN: true }), (queued, share) => {
        // A deadline the expected answer uses between 81 % and all of: refused, though it would arrive in time.
        const answerMs = (queued + 1) * 100 + 100
        const budget = requestBudget(answerMs / share, settings)
        assert.equal(wouldMissDeadline(budget, { ...load, queued }), answerMs)
      }),
    )
  })

  test('property: a longer queue never turns a refusal into an admission', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(50), fc.integer({ min: 1, max: 2000 }), (queued, more, deadlineMs) => {
        const budget = requestBudget(deadlineMs, settings)
        const load = { replicas: [busyReplica, { ...busyReplica, latencyMs: 300 }], measuredPace: 5 }
        if (wouldMissDeadline(budget, { ...load, queued }) !== undefined) {
          assert.notEqual(wouldMissDeadline(budget, { ...load, queued: queued + more }), undefined)
        }
      }),
    )
  })

  test('property: Retry-After is a whole number of seconds from 1 to 30, and 2 when nothing was served', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.double({ min: 0, max: 10_000, noNaN: true }), (queued, perSecond) => {
        const seconds = retryAfterSeconds(queued, perSecond)
        assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 30, `${seconds}`)
        if (perSecond === 0) assert.equal(seconds, 2)
      }),
    )
  })
})
