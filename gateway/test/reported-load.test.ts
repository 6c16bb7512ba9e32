import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { candidate } from '../src/balancing/candidate.ts'
import {
  ASSUMED_LATENCY_MS,
  holdMs,
  isCurrent,
  loadSeen,
  MAX_HOLD_MS,
  MIN_HOLD_MS,
  type ReportedLoad,
  reportFromAnswer,
  reportFromRefusal,
} from '../src/pool/reported-load.ts'

const count = fc.integer({ min: 0, max: 64 })
const slots = fc.integer({ min: 1, max: 16 })
const latency = fc.option(fc.double({ min: 0, max: 60_000, noNaN: true }), { nil: undefined })
const now = fc.integer({ min: 0, max: 2 ** 40 })

/** Free as routing and admission see it: the candidate the pool builds from the load seen. */
const isFree = (outstanding: number, s: number, report: ReportedLoad | undefined, t: number) =>
  candidate('replica', loadSeen(outstanding, s, report, t), s, ASSUMED_LATENCY_MS).free

describe('reported load (what "free" means with several gateways)', () => {
  test('no report: free exactly while our own requests leave a slot', () => {
    fc.assert(
      fc.property(count, slots, now, (outstanding, s, t) => {
        assert.equal(loadSeen(outstanding, s, undefined, t), outstanding)
        assert.equal(isFree(outstanding, s, undefined, t), outstanding < s)
      }),
    )
  })

  test('a report is a floor: the load seen is max(own outstanding, reported), never below our own', () => {
    fc.assert(
      fc.property(count, count, slots, latency, now, (outstanding, inflight, s, ms, t) => {
        const report = reportFromAnswer(inflight, s, ms, t)
        assert.equal(loadSeen(outstanding, s, report, t), Math.max(outstanding, Math.max(0, inflight - 1)))
        assert.ok(loadSeen(outstanding, s, report, t) >= outstanding)
      }),
    )
  })

  test('an answer reporting only itself (X-Replica-Inflight 1) never holds anything back', () => {
    fc.assert(
      fc.property(count, slots, latency, now, (outstanding, s, ms, t) => {
        assert.equal(isFree(outstanding, s, reportFromAnswer(1, s, ms, t), t), outstanding < s)
      }),
    )
  })

  test('a refusal makes the replica not free, whatever our own count, until it expires; then only our count matters', () => {
    fc.assert(
      fc.property(
        count,
        fc.option(count, { nil: undefined }),
        slots,
        latency,
        now,
        (outstanding, inflight, s, ms, t) => {
          const report = reportFromRefusal(inflight, s, ms, t)
          assert.equal(isFree(outstanding, s, report, t), false)
          assert.equal(isFree(outstanding, s, report, report.until - 1), false)
          assert.equal(isCurrent(report, report.until), false)
          assert.equal(isFree(outstanding, s, report, report.until), outstanding < s)
        },
      ),
    )
  })

  test('a refusal saying when a place frees (X-Replica-Free-In-Ms) holds until then, within the bounds', () => {
    fc.assert(
      fc.property(
        count,
        slots,
        latency,
        now,
        fc.double({ min: -10, max: 10_000, noNaN: true }),
        (n, s, ms, t, freeIn) => {
          const report = reportFromRefusal(n, s, ms, t, freeIn)
          assert.equal(report.until, t + Math.min(MAX_HOLD_MS, Math.max(MIN_HOLD_MS, freeIn)))
          assert.equal(isFree(0, s, report, report.until - 0.5), false)
        },
      ),
    )
    assert.equal(reportFromRefusal(1, 1, 20, 0, Number.NaN).until, holdMs(1, 1, 20), 'a malformed hint is ignored')
  })

  test('a report holds between the bounds, and longer the more the replica holds beyond its slots', () => {
    fc.assert(
      fc.property(count, count, slots, latency, (a, b, s, ms) => {
        const [low, high] = a <= b ? [a, b] : [b, a]
        const [short, long] = [holdMs(low, s, ms), holdMs(high, s, ms)]
        for (const hold of [short, long]) assert.ok(hold >= MIN_HOLD_MS && hold <= MAX_HOLD_MS, String(hold))
        assert.ok(short <= long)
      }),
    )
  })

  test('examples: a one-at-a-time replica refusing holds half a service time; unknown latency is assumed', () => {
    assert.equal(holdMs(1, 1, 20), 10)
    assert.equal(holdMs(3, 1, 20), 50)
    assert.equal(holdMs(1, 1, undefined), ASSUMED_LATENCY_MS / 2)
    assert.equal(holdMs(1, 1, 0), MIN_HOLD_MS)
    assert.equal(holdMs(1000, 1, 60), MAX_HOLD_MS)
    const refusal = reportFromRefusal(undefined, 2, 40, 1000)
    assert.deepEqual(refusal, { floor: 2, refused: true, until: 1010 })
    // It holds 3 more besides the one answered: one slot is left. Whose the 3 are it does not say, so our own count
    // overlaps the floor rather than adding to it (a wrong guess costs one cheap refusal, not an idle replica).
    const answer = reportFromAnswer(4, 4, 40, 1000)
    assert.equal(isFree(0, 4, answer, 1000), true)
    assert.equal(isFree(3, 4, answer, 1000), true)
    assert.equal(isFree(4, 4, answer, 1000), false)
  })
})
