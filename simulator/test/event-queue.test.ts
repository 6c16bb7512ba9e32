import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { EventQueue } from '../src/event-queue.ts'

test('events come out in time order; equal times in insertion order (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 300 }), (operations) => {
      const queue = new EventQueue<number>()
      const model: { time: number; seq: number }[] = []
      let seq = 0
      for (const [time, pop] of operations) {
        if (pop) {
          model.sort((a, b) => a.time - b.time || a.seq - b.seq)
          const expected = model.shift()
          const got = queue.pop()
          assert.deepEqual(got && { time: got.time, seq: got.item }, expected)
        } else {
          queue.push(time, seq)
          model.push({ time, seq: seq++ })
        }
        assert.equal(queue.size, model.length)
      }
    }),
  )
})
