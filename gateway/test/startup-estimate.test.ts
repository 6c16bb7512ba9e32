import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { initialStartupEstimate, updateStartupEstimate } from '../src/autoscale/startup-estimate.ts'

test('start-up is measured from the tick more replicas were wanted to the tick that many are ready', () => {
  let state = initialStartupEstimate(5)
  state = updateStartupEstimate(state, 0, 1, 1)
  assert.deepEqual(state.pending, [], 'nothing asked: nothing to measure')
  state = updateStartupEstimate(state, 1000, 3, 1)
  state = updateStartupEstimate(state, 2000, 3, 2)
  assert.equal(state.estimateS, 5, 'not all of the ask is ready yet')
  state = updateStartupEstimate(state, 13_000, 3, 3)
  assert.equal(state.estimateS, 12)
  assert.equal(state.samples, 1)
  // A faster start-up moves the estimate only part of the way; a slower one replaces it.
  state = updateStartupEstimate(state, 20_000, 4, 3)
  state = updateStartupEstimate(state, 22_000, 4, 4)
  assert.ok(Math.abs(state.estimateS - (12 + 0.3 * (2 - 12))) < 1e-9)
  state = updateStartupEstimate(state, 30_000, 5, 4)
  state = updateStartupEstimate(state, 60_000, 5, 5)
  assert.equal(state.estimateS, 30)
})

test('an ask given up on before it is ready measures nothing', () => {
  let state = initialStartupEstimate(5)
  state = updateStartupEstimate(state, 0, 4, 1)
  state = updateStartupEstimate(state, 1000, 1, 1)
  assert.deepEqual(state.pending, [])
  state = updateStartupEstimate(state, 50_000, 4, 4)
  assert.equal(state.samples, 0)
  assert.equal(state.estimateS, 5)
})

test('the estimate stays within the start-ups seen, and pending asks are ascending and above what is ready (property)', () => {
  const tick = fc.record({ wanted: fc.integer({ min: 0, max: 8 }), ready: fc.integer({ min: 0, max: 8 }) })
  fc.assert(
    fc.property(fc.array(tick, { maxLength: 60 }), (ticks) => {
      let state = initialStartupEstimate(7)
      for (const [i, t] of ticks.entries()) {
        state = updateStartupEstimate(state, i * 1000, t.wanted, t.ready)
        assert.ok(state.estimateS >= 0 && state.estimateS <= Math.max(7, i), `${state.estimateS} after ${i} s`)
        for (const [j, ask] of state.pending.entries()) {
          assert.ok(ask.replicas > t.ready && ask.replicas <= Math.max(t.wanted, ask.replicas))
          if (j > 0) assert.ok(ask.replicas > state.pending[j - 1]!.replicas && ask.at >= state.pending[j - 1]!.at)
        }
      }
    }),
  )
})
