import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  desiredReplicas,
  type ScalingInputs,
  type ScalingPolicy,
  stabilize,
} from '../src/autoscale/desired-replicas.ts'

const policy: ScalingPolicy = {
  targetUtilization: 0.7,
  drainTimeS: 0.5,
  startupS: 0,
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
  assert.equal(desiredReplicas(inputs({ backlog: 70 }), { ...policy, startupS: 9.5 }).recommended, 4)
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
  })
  const arbitraryPolicy = fc
    .record({
      targetUtilization: fc.double({ min: 0.1, max: 1, noNaN: true }),
      drainTimeS: fc.double({ min: 0.1, max: 10, noNaN: true }),
      startupS: fc.double({ min: 0, max: 60, noNaN: true }),
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
