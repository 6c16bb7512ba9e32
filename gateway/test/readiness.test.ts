import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { afterProbe, NOT_YET_READY, type ProbeResult, type ReadinessState } from '../src/pool/readiness.ts'

const run = (results: readonly ProbeResult[], thresholds = { failureThreshold: 3, successThreshold: 1 }) => {
  const states: ReadinessState[] = []
  for (const r of results) states.push(afterProbe(states.at(-1) ?? NOT_YET_READY, r, thresholds))
  return states
}

const result = fc.constantFrom<ProbeResult>('ready', 'answered_not_ready', 'no_answer')
const thresholds = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 6 }),
  successThreshold: fc.integer({ min: 1, max: 4 }),
})

describe('readiness from probes (failure and success thresholds)', () => {
  test('one missed probe does not unready a ready replica; the third in a row does', () => {
    const states = run(['ready', 'no_answer', 'ready', 'no_answer', 'no_answer', 'no_answer'])
    assert.deepEqual(
      states.map((s) => s.ready),
      [true, true, true, true, true, false],
    )
  })

  test('an answer of "not ready" (or a refused connection) makes it not ready at once', () => {
    assert.deepEqual(
      run(['ready', 'answered_not_ready', 'ready']).map((s) => s.ready),
      [true, false, true],
    )
  })

  test('a replica that never answered is not ready, and misses never make it ready', () => {
    assert.equal(afterProbe(NOT_YET_READY, 'no_answer', { failureThreshold: 3, successThreshold: 1 }).ready, false)
  })

  test('property: readiness changes only on a full streak, or at once on a "not ready" answer', () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 40 }), thresholds, (results, t) => {
        let state = NOT_YET_READY
        let misses = 0
        let successes = 0
        for (const r of results) {
          const next = afterProbe(state, r, t)
          misses = r === 'ready' ? 0 : misses + 1
          successes = r === 'ready' ? successes + 1 : 0
          if (r === 'answered_not_ready') assert.equal(next.ready, false)
          if (r === 'ready') assert.equal(next.ready, state.ready || successes >= t.successThreshold)
          if (r === 'no_answer') assert.equal(next.ready, state.ready && misses < t.failureThreshold)
          assert.equal(next.consecutiveFailures, misses)
          assert.equal(next.consecutiveSuccesses, successes)
          state = next
        }
      }),
    )
  })

  test('property: fewer than failureThreshold misses between answers never unready a ready replica', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), thresholds, (gaps, t) => {
        const results: ProbeResult[] = Array.from({ length: t.successThreshold }, () => 'ready' as const)
        for (const gap of gaps) {
          results.push(...Array.from({ length: gap % t.failureThreshold }, () => 'no_answer' as const), 'ready')
        }
        assert.ok(
          run(results, t)
            .slice(t.successThreshold - 1)
            .every((s) => s.ready),
        )
      }),
    )
  })
})
