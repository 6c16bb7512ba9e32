import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { RetryBudget } from '../src/dispatch/retry-budget.ts'

describe('RetryBudget', () => {
  test('retries stay within ratio × requests in the window, plus the floor', () => {
    const budget = new RetryBudget({ ratio: 0.2, windowMs: 10_000, minRetries: 3 }, 0)
    for (let i = 0; i < 100; i++) budget.recordRequest(i)
    let granted = 0
    for (let i = 0; i < 100; i++) if (budget.tryRetry(200 + i)) granted++
    assert.equal(granted, 20)
  })

  test('a quiet gateway may still retry a few times; the window forgets old traffic', () => {
    const budget = new RetryBudget({ ratio: 0.2, windowMs: 1000, minRetries: 3 }, 0)
    budget.recordRequest(0)
    assert.deepEqual(
      [1, 2, 3, 4].map((t) => budget.tryRetry(t)),
      [true, true, true, false],
    )
    assert.equal(budget.tryRetry(2000), true, 'a second later the budget is fresh')
  })

  test('property: never more than max(floor, ratio × requests) retries per window', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 })), { maxLength: 300 }), (events) => {
        const budget = new RetryBudget({ ratio: 0.2, windowMs: 1000, minRetries: 2 }, 0)
        let now = 0
        const log: { at: number; kind: 'request' | 'retry' }[] = []
        for (const [isRequest, gap] of events) {
          now += gap
          if (isRequest) {
            budget.recordRequest(now)
            log.push({ at: now, kind: 'request' })
          } else if (budget.tryRetry(now)) {
            log.push({ at: now, kind: 'retry' })
          }
          const recent = log.filter((e) => e.at > now - 1000)
          const requests = recent.filter((e) => e.kind === 'request').length
          const retries = recent.filter((e) => e.kind === 'retry').length
          // Buckets are 10 ms wide, so allow the requests of one bucket of slack at the window edge.
          assert.ok(retries <= Math.max(2, 0.2 * (requests + 50)) + 1, `${retries} retries for ${requests} requests`)
        }
      }),
    )
  })
})
