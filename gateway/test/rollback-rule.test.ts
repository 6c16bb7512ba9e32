import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseConfig } from '../../common/config.ts'
import { canaryVerdict, type WindowStats } from '../src/canary/rollback-rule.ts'
import { VersionOutcomes } from '../src/measurements/version-outcomes.ts'
import { rollbackRule, versionSettings } from '../src/versions/settings.ts'

/** The rule as shipped: the CANARY_* settings' defaults. */
const rule = rollbackRule(parseConfig(versionSettings, { env: {}, argv: [] }))
const stats = fc
  .record({
    requests: fc.integer({ min: 0, max: 5000 }),
    errorShare: fc.double({ min: 0, max: 1, noNaN: true }),
    p95Ms: fc.double({ min: 1, max: 5000, noNaN: true }),
  })
  .map(
    ({ requests, errorShare, p95Ms }): WindowStats => ({ requests, errors: Math.floor(requests * errorShare), p95Ms }),
  )

describe('the canary rollback rule', () => {
  test('property: never a rollback with fewer than minSamples requests on either side', () => {
    fc.assert(
      fc.property(stats, stats, (candidate, production) => {
        fc.pre(candidate.requests < rule.minSamples || production.requests < rule.minSamples)
        assert.equal(canaryVerdict(candidate, production, rule).verdict, 'wait')
      }),
    )
  })

  test('property: a candidate doing as well as production (or better) is never rolled back', () => {
    fc.assert(
      fc.property(
        stats,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.1, max: 1, noNaN: true }),
        (production, fewerErrors, faster) => {
          const candidate = {
            requests: production.requests,
            errors: Math.floor(production.errors * fewerErrors),
            p95Ms: production.p95Ms * faster,
          }
          assert.notEqual(canaryVerdict(candidate, production, rule).verdict, 'rollback')
          assert.notEqual(canaryVerdict(production, production, rule).verdict, 'rollback', 'identical windows')
        },
      ),
    )
  })

  test('property: a candidate worse than one that is rolled back is rolled back too (monotone)', () => {
    fc.assert(
      fc.property(
        stats,
        stats,
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (candidate, production, moreErrors, slower) => {
          const first = canaryVerdict(candidate, production, rule)
          fc.pre(first.verdict === 'rollback')
          const slowerStill = { ...candidate, p95Ms: candidate.p95Ms * slower }
          assert.equal(canaryVerdict(slowerStill, production, rule).verdict, 'rollback', 'slower')
          if (first.rule === 'error_rate') {
            // (A p95 verdict needs minSamples answers: more errors may leave fewer, so only the error rule is monotone in errors.)
            const moreFailures = { ...candidate, errors: Math.min(candidate.requests, candidate.errors + moreErrors) }
            assert.equal(canaryVerdict(moreFailures, production, rule).verdict, 'rollback', 'more errors')
          }
        },
      ),
    )
  })

  test('the thresholds: error rate more than 1 point worse; p95 more than +10 % (+5 ms slack)', () => {
    const production = { requests: 1000, errors: 10, p95Ms: 100 }
    assert.equal(
      canaryVerdict({ requests: 100, errors: 2, p95Ms: 100 }, production, rule).verdict,
      'keep',
      '2 % vs 1 %: at the limit',
    )
    const errors = canaryVerdict({ requests: 100, errors: 3, p95Ms: 100 }, production, rule)
    assert.equal(errors.verdict, 'rollback')
    assert.match(errors.reason, /error rate 3 % against production's 1 %/)
    assert.equal(
      canaryVerdict({ requests: 100, errors: 0, p95Ms: 115 }, production, rule).verdict,
      'keep',
      '≤ 100 × 1.1 + 5',
    )
    const slow = canaryVerdict({ requests: 100, errors: 0, p95Ms: 116 }, production, rule)
    assert.equal(slow.verdict, 'rollback')
    assert.match(slow.reason, /p95 116 ms against production's 100 ms \(limit 115 ms/)
    assert.equal(canaryVerdict({ requests: 49, errors: 49, p95Ms: 1 }, production, rule).verdict, 'wait')
  })
})

describe('per-version outcome windows', () => {
  test('count requests and errors, p95 of answers, only within the window and from `since`', () => {
    const windows = new VersionOutcomes(10_000)
    for (let i = 1; i <= 100; i++) windows.record({ key: 'm@v1', at: 1000 + i, ok: true, latencyMs: i })
    windows.record({ key: 'm@v1', at: 1200, ok: false })
    assert.deepEqual(windows.stats('m@v1', 2000), { requests: 101, errors: 1, p50Ms: 50, p95Ms: 95 })
    assert.equal(windows.stats('m@v1', 2000, 1051).requests, 51, 'from since on')
    assert.equal(windows.stats('m@v1', 11_101).requests, 1, 'older than the window: gone')
    assert.deepEqual(windows.keys(30_000), [])
    assert.ok(Number.isNaN(windows.stats('other', 0).p95Ms))
  })

  test('property: the window holds exactly the newest maxSamples outcomes within windowMs, however many came', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), ok: fc.boolean() }), {
          minLength: 1,
          maxLength: 4000,
        }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 100, max: 20_000 }),
        (events, maxSamples, windowMs) => {
          const windows = new VersionOutcomes(windowMs, maxSamples)
          const all: { at: number; ok: boolean }[] = []
          let at = 0
          for (const { gap, ok } of events) {
            at += gap
            all.push({ at, ok })
            windows.record({ key: 'm@v1', at, ok, latencyMs: 1 })
          }
          const kept = all.slice(-maxSamples).filter((e) => e.at >= at - windowMs)
          const { requests, errors } = windows.stats('m@v1', at)
          assert.equal(requests, kept.length)
          assert.equal(errors, kept.filter((e) => !e.ok).length)
        },
      ),
      { numRuns: 200 },
    )
  })
})
