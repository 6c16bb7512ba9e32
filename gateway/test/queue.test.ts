import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { RetryBudget } from '../src/dispatch/retry-budget.ts'
import type { Priority } from '../src/queue/job.ts'
import { JobQueue } from '../src/queue/job-queue.ts'

interface Item {
  id: number
  priority: Priority
  size: number
  enqueuedAt: number
}

describe('JobQueue', () => {
  test('model check: bounds hold, normal before low, FIFO within a lane, accounting exact', () => {
    const operation = fc.oneof(
      fc.record({
        op: fc.constant('push' as const),
        priority: fc.constantFrom<Priority>('normal', 'low'),
        size: fc.integer({ min: 0, max: 40 }),
      }),
      fc.record({ op: fc.constant('shift' as const) }),
      fc.record({ op: fc.constant('remove' as const), index: fc.nat() }),
      fc.record({
        op: fc.constant('pushFront' as const),
        priority: fc.constantFrom<Priority>('normal', 'low'),
        size: fc.integer({ min: 0, max: 40 }),
      }),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 200 }),
        fc.array(operation, { maxLength: 80 }),
        (maxCount, maxBytes, operations) => {
          const queue = new JobQueue<Item>({ maxCount, maxBytes, lowPriorityShare: 0.5 })
          const model: Record<Priority, Item[]> = { normal: [], low: [] }
          let id = 0
          let pushedFront = 0
          for (const step of operations) {
            if (step.op === 'push') {
              const item = { id: id++, priority: step.priority, size: step.size, enqueuedAt: id }
              const admission = queue.push(item)
              if (admission === 'ok') model[item.priority].push(item)
              else assert.ok(queue.size + 1 > maxCount || queue.bytes + item.size > maxBytes || item.priority === 'low')
            } else if (step.op === 'pushFront') {
              const item = { id: id++, priority: step.priority, size: step.size, enqueuedAt: id }
              queue.pushFront(item)
              model[item.priority].unshift(item)
              pushedFront++
            } else if (step.op === 'shift') {
              const expected = model.normal.shift() ?? model.low.shift()
              assert.equal(queue.shift(), expected)
            } else {
              const all = [...model.normal, ...model.low]
              const victim = all[step.index % Math.max(1, all.length)]
              if (victim) {
                assert.equal(queue.remove(victim), true)
                model[victim.priority].splice(model[victim.priority].indexOf(victim), 1)
                assert.equal(queue.remove(victim), false)
              }
            }
            const all = [...model.normal, ...model.low]
            assert.equal(queue.size, all.length)
            assert.equal(
              queue.bytes,
              all.reduce((sum, item) => sum + item.size, 0),
            )
            if (pushedFront === 0) {
              assert.ok(queue.size <= maxCount)
              assert.ok(queue.bytes <= maxBytes)
              assert.ok(queue.laneSize('low') <= Math.max(1, Math.floor(maxCount * 0.5)))
            }
          }
        },
      ),
    )
  })

  test('oldest() looks across both lanes', () => {
    const queue = new JobQueue<Item>({ maxCount: 10, maxBytes: 100, lowPriorityShare: 1 })
    queue.push({ id: 1, priority: 'low', size: 1, enqueuedAt: 5 })
    queue.push({ id: 2, priority: 'normal', size: 1, enqueuedAt: 9 })
    assert.equal(queue.oldest()?.id, 1)
    assert.equal(queue.shift()?.id, 2, 'but normal is served first')
  })
})

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
