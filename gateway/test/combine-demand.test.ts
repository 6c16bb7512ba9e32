import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { combineDemand, freshPeers } from '../src/autoscale/combine-demand.ts'
import { desiredReplicas, type ScalingInputs, type ScalingPolicy } from '../src/autoscale/desired-replicas.ts'

const policy: ScalingPolicy = {
  targetUtilization: 0.7,
  drainTimeS: 0.5,
  trendGain: 0,
  minReplicas: 1,
  maxReplicas: 1000,
  panicThreshold: 2,
}
const inputs = (overrides: Partial<ScalingInputs> = {}): ScalingInputs => ({
  arrivalRateShort: 20,
  arrivalRateLong: 20,
  serviceTimeS: 0.1,
  serviceTimeCv2: 0.1,
  backlog: 0,
  slotsPerReplica: 1,
  readyReplicas: 3,
  startupS: 5,
  ...overrides,
})

test('two gateways with half the traffic each: one alone asks for half the pool, the two combined for all of it', () => {
  const half = inputs({ arrivalRateShort: 30, arrivalRateLong: 30, backlog: 4 })
  const whole = inputs({ arrivalRateShort: 60, arrivalRateLong: 60, backlog: 8 })
  const alone = desiredReplicas(half, policy).recommended
  const combined = desiredReplicas(combineDemand(half, [half]), policy).recommended
  assert.equal(combined, desiredReplicas(whole, policy).recommended)
  assert.ok(alone < combined, `${alone} from one share, ${combined} for both`)
})

test('the mix of service times: weighted by arrivals, and its variability kept', () => {
  // 30 req/s of 10 ms and 10 req/s of 50 ms (each constant): mean 20 ms, E[S²] = (30·100 + 10·2500)/40 = 700 ms².
  const combined = combineDemand(
    inputs({ arrivalRateLong: 30, serviceTimeS: 0.01, serviceTimeCv2: 0, readyReplicas: 2, arrivalTrend: 1 }),
    [inputs({ arrivalRateLong: 10, serviceTimeS: 0.05, serviceTimeCv2: 0, readyReplicas: 3, arrivalTrend: undefined })],
  )
  assert.ok(Math.abs(combined.serviceTimeS - 0.02) < 1e-12)
  assert.ok(Math.abs(combined.serviceTimeCv2! - (700 / 400 - 1)) < 1e-9, `${combined.serviceTimeCv2}`)
  assert.equal(combined.readyReplicas, 3, 'the most any gateway sees ready')
  assert.equal(combined.arrivalTrend, 1)
  assert.equal(combined.startupS, 5)
})

const share = fc.record({
  rate: fc.integer({ min: 0, max: 500 }),
  backlog: fc.integer({ min: 0, max: 200 }),
})

test('property: splitting traffic over gateways and combining their reports sizes the pool as one gateway would', () => {
  fc.assert(
    fc.property(
      fc.array(share, { minLength: 1, maxLength: 6 }),
      fc.double({ min: 0.005, max: 0.5, noNaN: true }),
      fc.double({ min: 0, max: 2, noNaN: true }),
      (shares, serviceTimeS, cv2) => {
        const reports = shares.map(({ rate, backlog }) =>
          inputs({ arrivalRateShort: rate, arrivalRateLong: rate, backlog, serviceTimeS, serviceTimeCv2: cv2 }),
        )
        const total = (pick: (s: { rate: number; backlog: number }) => number) =>
          shares.reduce((a, s) => a + pick(s), 0)
        const one = inputs({
          arrivalRateShort: total((s) => s.rate),
          arrivalRateLong: total((s) => s.rate),
          backlog: total((s) => s.backlog),
          serviceTimeS,
          serviceTimeCv2: cv2,
        })
        const [own, ...peers] = reports
        assert.equal(
          desiredReplicas(combineDemand(own!, peers), policy).recommended,
          desiredReplicas(one, policy).recommended,
        )
      },
    ),
  )
})

test('property: another gateway reporting demand never lowers the count, and the order of reports does not matter', () => {
  const report = fc
    .record({
      rate: fc.integer({ min: 0, max: 300 }),
      backlog: fc.integer({ min: 0, max: 100 }),
      serviceTimeS: fc.double({ min: 0.005, max: 0.3, noNaN: true }),
    })
    .map(({ rate, backlog, serviceTimeS }) =>
      inputs({ arrivalRateShort: rate, arrivalRateLong: rate, backlog, serviceTimeS, serviceTimeCv2: 0 }),
    )
  fc.assert(
    fc.property(report, fc.array(report, { maxLength: 5 }), report, (own, peers, extra) => {
      const before = desiredReplicas(combineDemand(own, peers), policy).recommended
      // Same service time as the mix, so only the demand grows (a faster peer could lower the mean service time).
      const sameService = { ...extra, serviceTimeS: combineDemand(own, peers).serviceTimeS }
      assert.ok(desiredReplicas(combineDemand(own, [...peers, sameService]), policy).recommended >= before)
      const reversed = combineDemand(own, [...peers].reverse())
      const forward = combineDemand(own, peers)
      for (const key of Object.keys(forward) as (keyof ScalingInputs)[])
        assert.ok(
          Math.abs((forward[key] ?? 0) - (reversed[key] ?? 0)) <= 1e-9 * Math.max(1, Math.abs(forward[key] ?? 0)),
        )
    }),
  )
})

test('fresh peers: the newest report per gateway within the age limit, never this gateway itself', () => {
  const a1 = inputs({ backlog: 1 })
  const a2 = inputs({ backlog: 2 })
  const b = inputs({ backlog: 3 })
  const reports = [
    { gateway: 'gateway-a', inputs: a1, at: 1000 },
    { gateway: 'gateway-a', inputs: a2, at: 2000 },
    { gateway: 'gateway-b', inputs: b, at: 500 },
    { gateway: 'self', inputs: inputs({ backlog: 99 }), at: 2000 },
  ]
  assert.deepEqual(freshPeers(reports, 'self', 3000, 2500), [a2, b])
  assert.deepEqual(freshPeers(reports, 'self', 3000, 2000), [a2], 'b is 2.5 s old')
})
