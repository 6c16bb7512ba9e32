import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { DEFAULT_GATE_THRESHOLDS, gateVerdict } from '../src/gate/gate-rules.ts'

const evaluation = (top1: number, p95: number, evaluated = 1000) => ({
  evaluated,
  top1_accuracy: top1,
  latency_ms: { p95 },
})

test('the gate: accuracy may drop by at most 1 point, p95 may grow by at most 10 %, on the same images', () => {
  assert.equal(gateVerdict(evaluation(0.596, 20), evaluation(0.586, 22)).pass, true, 'exactly at both limits')
  const worse = gateVerdict(evaluation(0.596, 20), evaluation(0.585, 20))
  assert.deepEqual(
    worse.rows.map((r) => r.pass),
    [false, true],
  )
  assert.deepEqual(
    gateVerdict(evaluation(0.596, 20), evaluation(0.6, 22.1)).rows.map((r) => r.pass),
    [true, false],
  )
  const different = gateVerdict(evaluation(0.6, 20, 1000), evaluation(0.6, 20, 999))
  assert.equal(different.pass, false)
  assert.match(different.rows[0]!.note!, /1000 vs 999/)
  const unmeasured = gateVerdict(evaluation(0.6, 20), { evaluated: 1000, top1_accuracy: 0.6, latency_ms: null })
  assert.equal(unmeasured.pass, false)
})

test('property: a candidate no worse than its baseline passes; the verdict is the conjunction of its rows', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0.1, max: 5000, noNaN: true }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.integer({ min: 1, max: 5000 }),
      (top1, p95, accuracyGain, latencyGain, evaluated) => {
        const baseline = evaluation(top1, p95, evaluated)
        const better = evaluation(Math.min(1, top1 + accuracyGain), p95 / (1 + latencyGain), evaluated)
        assert.equal(gateVerdict(baseline, better).pass, true)
        const verdict = gateVerdict(baseline, evaluation(top1 - accuracyGain, p95 * (1 + latencyGain), evaluated))
        assert.equal(
          verdict.pass,
          verdict.rows.every((row) => row.pass),
        )
        if (accuracyGain > DEFAULT_GATE_THRESHOLDS.maxAccuracyDrop + 1e-9) assert.equal(verdict.rows[0]!.pass, false)
        if (latencyGain > DEFAULT_GATE_THRESHOLDS.maxP95Increase + 1e-9) assert.equal(verdict.rows[1]!.pass, false)
      },
    ),
  )
})
