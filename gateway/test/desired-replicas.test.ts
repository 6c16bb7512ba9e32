import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  arrivalTrend,
  burstRate,
  desiredReplicas,
  type ScalingInputs,
  type ScalingPolicy,
  scaleDownWindowS,
  stabilize,
} from '../src/autoscale/desired-replicas.ts'

const policy: ScalingPolicy = {
  targetUtilization: 0.7,
  drainTimeS: 0.5,
  trendGain: 0,
  minReplicas: 1,
  maxReplicas: 50,
  panicThreshold: 2,
}
const inputs = (overrides: Partial<ScalingInputs> = {}): ScalingInputs => ({
  arrivalRateShort: 20,
  arrivalRateLong: 20,
  serviceTimeS: 0.1,
  backlog: 0,
  slotsPerReplica: 1,
  readyReplicas: 3,
  startupS: 0,
  ...overrides,
})

test('ceil(λ·S/ρ): 20 req/s × 0.1 s at 70 % needs 3 replicas; a backlog adds what drains it within the SLO', () => {
  assert.equal(desiredReplicas(inputs(), policy).recommended, 3)
  // 10 queued, to be served in 0.5 s: 20 req/s more → 4 more busy slots before utilisation.
  assert.equal(desiredReplicas(inputs({ backlog: 10 }), policy).recommended, 6)
  assert.equal(desiredReplicas(inputs({ slotsPerReplica: 2 }), policy).recommended, 2)
  // 70 queued: within the SLO alone that would be 140 req/s more (23 replicas); with replicas that take 9.5 s to
  // start, nothing new drains before 10 s, so 7 req/s more (4 replicas) — not replicas that come after the backlog.
  assert.equal(desiredReplicas(inputs({ backlog: 70 }), policy).recommended, 23)
  assert.equal(desiredReplicas(inputs({ backlog: 70, startupS: 9.5 }), policy).recommended, 4)
})

test('a burst in the short window scales up at once; past twice the capacity it is panic', () => {
  const burst = desiredReplicas(inputs({ arrivalRateShort: 40, readyReplicas: 3 }), policy)
  assert.equal(burst.recommended, 6)
  assert.equal(burst.panic, true)
  const lull = desiredReplicas(inputs({ arrivalRateShort: 5, arrivalRateLong: 20 }), policy)
  assert.equal(lull.recommended, 3, 'a short lull does not scale down: the long window still asks for 3')
})

test('bounds hold, and more arrivals or more backlog never ask for fewer replicas (property)', () => {
  const arbitraryInputs = fc.record({
    arrivalRateShort: fc.double({ min: 0, max: 5000, noNaN: true }),
    arrivalRateLong: fc.double({ min: 0, max: 5000, noNaN: true }),
    serviceTimeS: fc.double({ min: 0.001, max: 2, noNaN: true }),
    backlog: fc.nat({ max: 10_000 }),
    slotsPerReplica: fc.integer({ min: 1, max: 8 }),
    readyReplicas: fc.nat({ max: 200 }),
    arrivalTrend: fc.double({ min: 0, max: 100, noNaN: true }),
    startupS: fc.double({ min: 0, max: 60, noNaN: true }),
  })
  const arbitraryPolicy = fc
    .record({
      targetUtilization: fc.double({ min: 0.1, max: 1, noNaN: true }),
      drainTimeS: fc.double({ min: 0.1, max: 10, noNaN: true }),
      trendGain: fc.double({ min: 0, max: 3, noNaN: true }),
      minReplicas: fc.nat({ max: 5 }),
      span: fc.nat({ max: 100 }),
      panicThreshold: fc.double({ min: 1.1, max: 4, noNaN: true }),
    })
    .map(({ span, ...p }) => ({ ...p, maxReplicas: p.minReplicas + span }))
  fc.assert(
    fc.property(
      arbitraryInputs,
      arbitraryPolicy,
      fc.double({ min: 0, max: 1000, noNaN: true }),
      fc.nat({ max: 1000 }),
      (i, p, moreRate, moreBacklog) => {
        const base = desiredReplicas(i, p).recommended
        assert.ok(base >= p.minReplicas && base <= p.maxReplicas)
        const moreArrivals = {
          ...i,
          arrivalRateShort: i.arrivalRateShort + moreRate,
          arrivalRateLong: i.arrivalRateLong + moreRate,
        }
        assert.ok(desiredReplicas(moreArrivals, p).recommended >= base, 'monotone in λ')
        assert.ok(desiredReplicas({ ...i, backlog: i.backlog + moreBacklog }, p).recommended >= base, 'monotone in Q')
      },
    ),
  )
})

test('a rising trend sizes the short window for the rate one start-up ahead; none without a start-up or a gain', () => {
  // 20 req/s now, rising 1 req/s per second, replicas take 10 s: size for 30 req/s (5 replicas at 70 %).
  const rising = inputs({ arrivalTrend: 1, startupS: 10 })
  assert.equal(desiredReplicas(rising, { ...policy, trendGain: 1 }).shortWindow, 5)
  assert.equal(desiredReplicas(rising, { ...policy, trendGain: 0.5 }).shortWindow, 4)
  assert.equal(desiredReplicas(rising, policy).shortWindow, 3, 'gain 0: no forecast')
  assert.equal(desiredReplicas({ ...rising, startupS: 0 }, { ...policy, trendGain: 1 }).shortWindow, 3)
})

test('arrivalTrend: Poisson noise is no trend; a rise beyond it is, in req/s per second (property)', () => {
  // 100 then 200 requests in 5 s halves: +100, less 2 sd (2·√300 ≈ 34.6), is +65.4 over 5 s, per 5 s.
  assert.ok(Math.abs(arrivalTrend(100, 200, 5) - 65.36 / 25) < 0.01)
  assert.equal(arrivalTrend(100, 110, 5), 0, 'within the noise')
  assert.equal(arrivalTrend(200, 100, 5), 0, 'falling: nothing (never scales down early)')
  fc.assert(
    fc.property(fc.nat({ max: 10_000 }), fc.nat({ max: 10_000 }), fc.nat({ max: 1000 }), (older, recent, more) => {
      const trend = arrivalTrend(older, recent, 5)
      assert.ok(trend >= 0)
      assert.ok(arrivalTrend(older, recent + more, 5) >= trend, 'more recent arrivals: no smaller trend')
      if (recent <= older) assert.equal(trend, 0)
    }),
  )
})

test('burstRate: the short window vouches only for what is beyond z σ of Poisson noise, never below 0', () => {
  assert.equal(burstRate(102, 3, 0), 34)
  assert.ok(Math.abs(burstRate(100, 2, 1) - 45) < 1e-12)
  assert.equal(burstRate(1, 1, 3), 0)
  fc.assert(
    fc.property(
      fc.nat({ max: 100_000 }),
      fc.nat({ max: 1000 }),
      fc.double({ min: 0, max: 5, noNaN: true }),
      (n, more, z) => {
        assert.ok(burstRate(n, 3, z) >= 0 && burstRate(n, 3, z) <= n / 3)
        assert.ok(burstRate(n + more, 3, z) >= burstRate(n, 3, z) - 1e-12, 'more arrivals: no smaller rate')
      },
    ),
  )
})

test('stabilize: up at once, down only after the window', () => {
  let state = stabilize([], { at: 0, replicas: 2 }, 60_000)
  state = stabilize(state.history, { at: 1000, replicas: 8 }, 60_000)
  assert.equal(state.replicas, 8)
  state = stabilize(state.history, { at: 30_000, replicas: 3 }, 60_000)
  assert.equal(state.replicas, 8, 'still within the window of the 8')
  state = stabilize(state.history, { at: 61_001, replicas: 3 }, 60_000)
  assert.equal(state.replicas, 3)
  assert.ok(state.history.every((r) => r.at > 1001))
})

test('stabilize equals the highest recommendation within the window, keeping a short history (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ gapMs: fc.integer({ min: 1, max: 20_000 }), replicas: fc.integer({ min: 0, max: 30 }) }), {
        minLength: 1,
        maxLength: 80,
      }),
      fc.integer({ min: 1000, max: 120_000 }),
      fc.integer({ min: 0, max: 200_000 }),
      (steps, windowMs, keepMs) => {
        let history: ReturnType<typeof stabilize>['history'] = []
        const all: { at: number; replicas: number }[] = []
        let at = 0
        for (const { gapMs, replicas } of steps) {
          at += gapMs
          all.push({ at, replicas })
          const state = stabilize(history, { at, replicas }, windowMs, keepMs)
          history = state.history
          const expected = Math.max(...all.filter((r) => r.at > at - windowMs).map((r) => r.replicas))
          assert.equal(state.replicas, expected)
          assert.ok(history.length <= 31, 'strictly decreasing replicas: at most one entry per count')
        }
        // A window grown up to `keepMs` still sees everything within it.
        const longer = Math.max(windowMs, keepMs)
        const grown = stabilize(history, { at: at + 1, replicas: 0 }, longer, keepMs)
        assert.equal(grown.replicas, Math.max(0, ...all.filter((r) => r.at > at + 1 - longer).map((r) => r.replicas)))
      },
    ),
  )
})

test('with a wait-tail share, the utilisation is a ceiling: Erlang C adds replicas when the SLO leaves little to wait', () => {
  const slow = inputs({ arrivalRateShort: 16, arrivalRateLong: 16, serviceTimeS: 0.126, readyReplicas: 3 })
  const ceiling = { ...policy, targetUtilization: 0.9 }
  assert.equal(desiredReplicas(slow, ceiling).recommended, 3, 'utilisation alone: 2.0 busy slots at 90 %')
  assert.equal(desiredReplicas(slow, { ...ceiling, waitTailShare: 0.01 }).recommended, 4)
  const fast = inputs({ arrivalRateShort: 34, arrivalRateLong: 34, serviceTimeS: 0.04 })
  assert.equal(
    desiredReplicas(fast, { ...ceiling, waitTailShare: 0.01 }).recommended,
    2,
    'nothing added when the SLO leaves room',
  )
})

test('with a wait-tail share, measured service variability sizes the pool: near-constant service needs fewer', () => {
  // 30 req/s of 100 ms on 1-slot replicas, 400 ms left to wait, 0.1 % tail: M/M/c asks for 5, M/D-like for 4.
  const steady = inputs({ arrivalRateShort: 30, arrivalRateLong: 30, readyReplicas: 4 })
  const tail = { ...policy, targetUtilization: 0.95, waitTailShare: 0.001 }
  assert.equal(desiredReplicas(steady, tail).recommended, 5, 'unmeasured: exponential service')
  assert.equal(desiredReplicas({ ...steady, serviceTimeCv2: 1 }, tail).recommended, 5)
  assert.equal(desiredReplicas({ ...steady, serviceTimeCv2: 0.03 }, tail).recommended, 4)
})

test('scale-down waits the stabilisation or that many measured start-ups, whichever is longer (property)', () => {
  assert.equal(scaleDownWindowS(15, 0, 30), 15)
  assert.equal(scaleDownWindowS(15, 3, 1.4), 15)
  assert.equal(scaleDownWindowS(15, 3, 30), 90)
  fc.assert(
    fc.property(
      fc.nat({ max: 600 }),
      fc.double({ min: 0, max: 10, noNaN: true }),
      fc.double({ min: 0, max: 120, noNaN: true }),
      fc.double({ min: 0, max: 60, noNaN: true }),
      (stabilisation, startups, startupS, slower) => {
        const window = scaleDownWindowS(stabilisation, startups, startupS)
        assert.ok(window >= stabilisation && window >= startups * startupS)
        assert.ok(scaleDownWindowS(stabilisation, startups, startupS + slower) >= window, 'slower start-up: no shorter')
      },
    ),
  )
})
