import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { Priority } from '../src/queue/job.ts'
import { type ByteReservation, JobQueue } from '../src/queue/job-queue.ts'

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
          const queue = new JobQueue<Item>({ maxCount, maxBytes, maxReceivingBytes: maxBytes, lowPriorityShare: 0.5 })
          const model: Record<Priority, Item[]> = { normal: [], low: [] }
          let id = 0
          let pushedFront = 0
          for (const step of operations) {
            if (step.op === 'push') {
              const item = { id: id++, priority: step.priority, size: step.size, enqueuedAt: id }
              // Refused exactly when a bound would be crossed: the whole queue's, or the low lane's share of it.
              const lowBytes = model.low.reduce((sum, low) => sum + low.size, 0)
              const crosses =
                queue.size + 1 > maxCount ||
                queue.bytes + item.size > maxBytes ||
                (item.priority === 'low' &&
                  (model.low.length + 1 > Math.max(1, Math.floor(maxCount * 0.5)) ||
                    lowBytes + item.size > maxBytes * 0.5))
              const admission = queue.push(item)
              assert.equal(admission === 'ok', !crosses, `${item.priority} job of ${item.size} bytes: ${admission}`)
              if (admission === 'ok') model[item.priority].push(item)
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

  test('model check: bodies being received plus bodies queued never exceed the byte bound; receiving within its own', () => {
    const priority = fc.constantFrom<Priority>('normal', 'low')
    const operation = fc.oneof(
      // A body announced with its length (Content-Length), reserved whole at admission.
      fc.record({ op: fc.constant('reserve' as const), priority, size: fc.integer({ min: 0, max: 60 }) }),
      // A chunked body: its reservation grows as chunks arrive.
      fc.record({ op: fc.constant('grow' as const), index: fc.nat(), more: fc.integer({ min: 1, max: 30 }) }),
      // The request failed (refused mid-body, client gone, timeout): its reservation is given back.
      fc.record({ op: fc.constant('release' as const), index: fc.nat() }),
      // The body has arrived: its job enters the queue in the bytes its reservation held.
      fc.record({ op: fc.constant('enqueue' as const), index: fc.nat() }),
      // A job with no reservation (a batch image read from disk).
      fc.record({ op: fc.constant('push' as const), priority, size: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ op: fc.constant('shift' as const) }),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.array(operation, { maxLength: 100 }),
        (maxCount, maxBytes, maxReceivingBytes, operations) => {
          const queue = new JobQueue<Item>({ maxCount, maxBytes, maxReceivingBytes, lowPriorityShare: 0.5 })
          const live: ByteReservation[] = []
          const pick = (index: number) => live[index % Math.max(1, live.length)]
          let id = 0
          for (const step of operations) {
            if (step.op === 'reserve') {
              const before = queue.reserved
              const reservation = queue.reserve(step.priority, step.size)
              if (typeof reservation === 'string') {
                assert.equal(queue.reserved, before, 'a refusal reserves nothing')
                const fits =
                  queue.size + 1 <= maxCount &&
                  queue.bytes + before + step.size <= maxBytes &&
                  before + step.size <= maxReceivingBytes
                assert.ok(!fits || step.priority === 'low', `refused (${reservation}) although it fits`)
              } else {
                assert.equal(reservation.bytes, step.size)
                live.push(reservation)
              }
            } else if (step.op === 'grow') {
              const reservation = pick(step.index)
              if (reservation) {
                const [before, total] = [reservation.bytes, queue.reserved]
                const room = queue.grow(reservation, step.more)
                assert.equal(reservation.bytes, room === 'ok' ? before + step.more : before)
                assert.equal(queue.reserved, room === 'ok' ? total + step.more : total)
              }
            } else if (step.op === 'release' || step.op === 'enqueue') {
              const reservation = pick(step.index)
              if (reservation) {
                live.splice(live.indexOf(reservation), 1)
                queue.release(reservation)
                queue.release(reservation)
                assert.equal(reservation.released, true)
                if (step.op === 'enqueue') {
                  const item = { id: id++, priority: reservation.priority, size: reservation.bytes, enqueuedAt: id }
                  // The bytes were held for it: only the count bound can refuse it now.
                  assert.ok(['ok', 'count'].includes(queue.push(item)))
                }
              }
            } else if (step.op === 'push') {
              queue.push({ id: id++, priority: step.priority, size: step.size, enqueuedAt: id })
            } else {
              queue.shift()
            }
            assert.equal(
              queue.reserved,
              live.reduce((sum, r) => sum + r.bytes, 0),
            )
            assert.ok(queue.bytes + queue.reserved <= maxBytes, `${queue.bytes} queued + ${queue.reserved} receiving`)
            assert.ok(queue.reserved <= maxReceivingBytes)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  test('the low lane holds exactly its share of the count: the last place is taken, the one after refused', () => {
    const queue = new JobQueue<Item>({ maxCount: 10, maxBytes: 1000, maxReceivingBytes: 1000, lowPriorityShare: 0.5 })
    const low = (id: number): Item => ({ id, priority: 'low', size: 1, enqueuedAt: id })
    assert.equal(queue.capacity('low'), 5)
    for (let id = 0; id < 4; id++) assert.equal(queue.push(low(id)), 'ok')
    assert.equal(queue.room('low', 1), 'ok', 'four of five taken: room for one more')
    assert.equal(queue.push(low(4)), 'ok', 'the fifth fills the lane')
    assert.equal(queue.push(low(5)), 'count', 'a sixth would be over its share')
    assert.equal(queue.push({ id: 6, priority: 'normal', size: 1, enqueuedAt: 6 }), 'ok', 'normal work still fits')
  })

  test('oldest() looks across both lanes', () => {
    const queue = new JobQueue<Item>({ maxCount: 10, maxBytes: 100, maxReceivingBytes: 100, lowPriorityShare: 1 })
    queue.push({ id: 1, priority: 'low', size: 1, enqueuedAt: 5 })
    queue.push({ id: 2, priority: 'normal', size: 1, enqueuedAt: 9 })
    assert.equal(queue.oldest()?.id, 1)
    assert.equal(queue.shift()?.id, 2, 'but normal is served first')
  })
})
