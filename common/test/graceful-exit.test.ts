import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { judgeSignal } from '../graceful-exit.ts'

describe('shutdown signals: one Ctrl-C drains, its relayed copy is ignored, a second one forces', () => {
  test('the first signal drains', () => {
    assert.equal(judgeSignal(undefined, 12_345, 500), 'drain')
  })

  test('property: a copy within the window is a duplicate; anything later forces the exit', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        (first, gap) => {
          const verdict = judgeSignal(first, first + gap, 500)
          assert.equal(verdict, gap < 500 ? 'duplicate' : 'force')
        },
      ),
    )
  })
})
