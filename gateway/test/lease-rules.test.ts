import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  electionStep,
  expired,
  isLeading,
  type LeaseObservation,
  type LeaseSpec,
  microTime,
  observe,
  released,
} from '../src/autoscale/lease-rules.ts'

const L = 15 // lease duration, s
const D = 10 // renew deadline, s

test('no Lease: create it, holding it from now with no transitions', () => {
  const step = electionStep(undefined, 'gateway-0', 5000, L)
  assert.deepEqual(step, {
    action: 'acquire',
    spec: {
      holderIdentity: 'gateway-0',
      leaseDurationSeconds: L,
      acquireTime: '1970-01-01T00:00:05.000000Z',
      renewTime: '1970-01-01T00:00:05.000000Z',
      leaseTransitions: 0,
    },
  })
})

test('our own Lease: renew it, keeping acquireTime and the transitions', () => {
  const held: LeaseSpec = {
    holderIdentity: 'gateway-0',
    leaseDurationSeconds: L,
    acquireTime: microTime(1000),
    renewTime: microTime(3000),
    leaseTransitions: 4,
  }
  const step = electionStep({ spec: held, since: 3000 }, 'gateway-0', 100_000, L)
  assert.equal(step.action, 'renew')
  assert.deepEqual((step as { spec: LeaseSpec }).spec, { ...held, renewTime: microTime(100_000) })
})

test("someone else's live Lease: follow; unchanged for its duration by our clock: take it over, one more transition", () => {
  const theirs: LeaseSpec = {
    holderIdentity: 'gateway-1',
    leaseDurationSeconds: L,
    acquireTime: microTime(0),
    // Their renewTime is far in our past (a skewed clock): it does not matter, only when we saw it change does.
    renewTime: microTime(0),
    leaseTransitions: 2,
  }
  const seen = observe(undefined, theirs, 1_000_000)
  assert.deepEqual(electionStep(seen, 'gateway-0', 1_000_000 + L * 1000 - 1, L), {
    action: 'follow',
    holder: 'gateway-1',
  })
  const takeover = electionStep(seen, 'gateway-0', 1_000_000 + L * 1000, L)
  assert.equal(takeover.action, 'acquire')
  assert.equal(takeover.action === 'acquire' && takeover.spec.holderIdentity, 'gateway-0')
  assert.equal(takeover.action === 'acquire' && takeover.spec.leaseTransitions, 3)
  // Renewed meanwhile: the clock restarts from when we saw the change.
  const renewed = observe(seen, { ...theirs, renewTime: microTime(10_000) }, 1_010_000)
  assert.equal(renewed.since, 1_010_000)
  assert.equal(electionStep(renewed, 'gateway-0', 1_000_000 + L * 1000, L).action, 'follow')
  assert.equal(observe(renewed, { ...theirs, renewTime: microTime(10_000) }, 1_020_000).since, 1_010_000)
})

test('a released Lease (no holder) is taken at once', () => {
  const spec = released(
    { holderIdentity: 'gateway-1', leaseDurationSeconds: L, acquireTime: microTime(0), leaseTransitions: 1 },
    50_000,
  )
  assert.equal(spec.holderIdentity, '')
  assert.equal(spec.leaseTransitions, 1)
  const step = electionStep(observe(undefined, spec, 50_001), 'gateway-0', 50_001, L)
  assert.equal(step.action, 'acquire')
})

test('a leader acts only within the renew deadline of its last renewal', () => {
  assert.equal(isLeading(undefined, 0, D), false)
  assert.equal(isLeading(1000, 1000 + D * 1000 - 1, D), true)
  assert.equal(isLeading(1000, 1000 + D * 1000, D), false)
  assert.equal(expired({ spec: {}, since: 0 }, 0), true, 'no duration: nobody may hold it')
})

/**
 * Gateways doing election rounds against one Lease with compare-and-swap on its version, as the API server does:
 * each round reads, decides, and later writes (another's write in between makes the write fail, 409). Crashes are
 * gateways that stop taking part (their last span runs out on its own). Every successful write by G read at r and written at w makes G lead over
 * [w, r + D); no two gateways' spans may overlap.
 */
test('property: whatever the interleaving and crashes, no two gateways ever lead at the same instant', () => {
  const event = fc.record({
    gateway: fc.integer({ min: 0, max: 2 }),
    kind: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom('read', 'write') },
      { weight: 1, arbitrary: fc.constant('release') },
    ),
    // Mostly a round's worth of time; now and then a long pause (a leader that stopped renewing).
    advanceMs: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 3000 }) },
      { weight: 2, arbitrary: fc.integer({ min: 3000, max: 20_000 }) },
    ),
  })
  fc.assert(
    fc.property(
      fc.array(event, { minLength: 20, maxLength: 200, size: 'max' }),
      // The event after which each gateway crashes (beyond the last: it never does).
      fc.array(fc.integer({ min: 0, max: 250 }), { minLength: 3, maxLength: 3 }),
      (events, crashesAfter) => {
        let now = 0
        let store: { spec: LeaseSpec; version: number } | undefined
        const gateways = [0, 1, 2].map(() => ({
          observation: undefined as LeaseObservation | undefined,
          pending: undefined as { spec: LeaseSpec; version: number | undefined; readAt: number } | undefined,
          lastRenewAt: undefined as number | undefined,
          wrote: undefined as number | undefined,
        }))
        const spans: { gateway: number; from: number; to: number }[] = []
        for (const [index, { gateway: g, kind, advanceMs }] of events.entries()) {
          now += advanceMs
          const gateway = gateways[g]!
          if (index >= crashesAfter[g]!) continue
          if (kind === 'read') {
            gateway.observation = store ? observe(gateway.observation, store.spec, now) : undefined
            const step = electionStep(gateway.observation, `gateway-${g}`, now, L)
            gateway.pending =
              step.action === 'follow' ? undefined : { spec: step.spec, version: store?.version, readAt: now }
          } else if (kind === 'write' && gateway.pending) {
            const { spec, version, readAt } = gateway.pending
            gateway.pending = undefined
            if (store?.version !== version) continue // 409 Conflict (or 409 AlreadyExists on create)
            store = { spec, version: (version ?? 0) + 1 }
            gateway.wrote = store.version
            gateway.lastRenewAt = readAt
            gateway.observation = observe(gateway.observation, spec, now)
            if (isLeading(readAt, now, D)) spans.push({ gateway: g, from: now, to: readAt + D * 1000 })
          } else if (kind === 'release' && gateway.observation && isLeading(gateway.lastRenewAt, now, D)) {
            // It stops leading before it writes the release.
            for (const span of spans) if (span.gateway === g && span.to > now) span.to = now
            gateway.lastRenewAt = undefined
            // A PUT at the version it wrote: if anyone wrote since, 409 and nothing is released.
            if (store && store.version === gateway.wrote)
              store = { spec: released(store.spec, now), version: store.version + 1 }
          }
        }
        for (const a of spans)
          for (const b of spans)
            if (a.gateway !== b.gateway)
              assert.ok(a.to <= b.from || b.to <= a.from, `overlap: ${JSON.stringify(a)} and ${JSON.stringify(b)}`)
      },
    ),
    { numRuns: 500 },
  )
})

test('property: a follower that keeps taking part takes over within one lease duration after the leader stops', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 100, max: 5000 }), (leaderStopsAt, roundMs) => {
      // The leader's last record, seen by the follower from its first round after it was written.
      const spec = electionStep(undefined, 'gateway-1', leaderStopsAt, L)
      assert.equal(spec.action, 'acquire')
      let observation: LeaseObservation | undefined
      let t = leaderStopsAt
      for (;;) {
        observation = observe(observation, spec.action === 'acquire' ? spec.spec : {}, t)
        if (electionStep(observation, 'gateway-0', t, L).action === 'acquire') break
        t += roundMs
      }
      assert.ok(t >= leaderStopsAt + L * 1000, 'never before the lease expires')
      assert.ok(t < leaderStopsAt + L * 1000 + roundMs, 'at the first round after')
    }),
  )
})
