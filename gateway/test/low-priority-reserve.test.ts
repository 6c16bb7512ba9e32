import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { mayStartLowPriority } from '../src/dispatch/low-priority-reserve.ts'

test('under interactive traffic low-priority work keeps the reserve free; never starves a one-slot pool; never takes a busy slot', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.nat(64),
      fc.nat(8),
      fc.boolean(),
      (slots, rawBusy, reserve, active) => {
        const busy = rawBusy % (slots + 1)
        const may = mayStartLowPriority(slots, busy, reserve, active)
        if (busy >= slots) assert.equal(may, false, 'no free slot')
        else if (!active || slots === 1)
          assert.equal(may, true, 'a free slot is used when nothing interactive needs it')
        else assert.equal(may, slots - busy - 1 >= Math.min(reserve, slots - 1))
        // Monotone: more busy slots never allow what fewer refused; interactive traffic never allows more.
        if (!may && busy < slots) assert.equal(mayStartLowPriority(slots, busy + 1, reserve, active), false)
        if (may) assert.equal(mayStartLowPriority(slots, busy, reserve, false), true)
      },
    ),
  )
  assert.equal(mayStartLowPriority(2, 0, 1, true), true)
  assert.equal(
    mayStartLowPriority(2, 1, 1, true),
    false,
    'two replicas: the second slot stays for interactive requests',
  )
  assert.equal(mayStartLowPriority(2, 1, 1, false), true, 'no interactive traffic: batch work uses both')
  assert.equal(mayStartLowPriority(2, 1, 0, true), true)
})
