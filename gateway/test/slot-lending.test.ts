import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { slotsToLend } from '../src/dispatch/slot-lending.ts'

const inputs = fc.record({
  queued: fc.integer({ min: 0, max: 10_000 }),
  replicas: fc.integer({ min: 0, max: 64 }),
  slots: fc.integer({ min: 1, max: 16 }),
  slotsWhenQueued: fc.integer({ min: 0, max: 64 }),
})

test('a short queue lends nothing: late binding as before', () => {
  assert.equal(slotsToLend(0, 2, 2, 6), 0)
  assert.equal(slotsToLend(2, 2, 2, 6), 0)
  assert.equal(slotsToLend(3, 2, 2, 6), 0)
})

test('a deep queue lends one slot per further `replicas` jobs waiting, up to the cap', () => {
  assert.equal(slotsToLend(4, 2, 2, 6), 1)
  assert.equal(slotsToLend(7, 2, 2, 6), 2)
  assert.equal(slotsToLend(10, 2, 2, 6), 4)
  assert.equal(slotsToLend(1000, 2, 2, 6), 4)
})

test('off when the cap is not above the own slots, or no replica is routable', () => {
  assert.equal(slotsToLend(1000, 2, 2, 2), 0)
  assert.equal(slotsToLend(1000, 2, 4, 2), 0)
  assert.equal(slotsToLend(1000, 0, 2, 6), 0)
})

test('property: within [0, cap − slots]; never more jobs bound early than wait; none while queued ≤ replicas', () => {
  fc.assert(
    fc.property(inputs, ({ queued, replicas, slots, slotsWhenQueued }) => {
      const lent = slotsToLend(queued, replicas, slots, slotsWhenQueued)
      assert.ok(Number.isInteger(lent) && lent >= 0)
      assert.ok(slots + lent <= Math.max(slots, slotsWhenQueued))
      assert.ok(lent * replicas <= queued, `${lent} × ${replicas} > ${queued}`)
      if (queued <= replicas) assert.equal(lent, 0)
    }),
  )
})

test('property: more waiting never lends less; more (routable) replicas never lend more each', () => {
  fc.assert(
    fc.property(inputs, fc.integer({ min: 0, max: 100 }), ({ queued, replicas, slots, slotsWhenQueued }, more) => {
      const lent = slotsToLend(queued, replicas, slots, slotsWhenQueued)
      assert.ok(slotsToLend(queued + more, replicas, slots, slotsWhenQueued) >= lent)
      if (replicas > 0) assert.ok(slotsToLend(queued, replicas + more, slots, slotsWhenQueued) <= lent)
    }),
  )
})
