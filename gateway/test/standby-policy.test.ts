import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  type DemandSample,
  desiredStandbys,
  parseStandbySetting,
  recordDemand,
  shortfallPeak,
} from '../src/autoscale/standby-count.ts'
import { planRoles, type RolePod } from '../src/autoscale/standby-plan.ts'

const STARTUP_MS = 10_000
const HORIZON_MS = 600_000

/** One sample a second from a list of (need, asked) pairs. */
const samplesOf = (ticks: readonly { need: number; asked: number }[]): DemandSample[] => {
  let history: DemandSample[] = []
  for (const [i, t] of ticks.entries()) history = recordDemand(history, { at: i * 1000, ...t }, HORIZON_MS, STARTUP_MS)
  return history
}

test('a step in demand within one start-up asks for standbys the size of the step; a flat load asks for none', () => {
  const flat = samplesOf(Array.from({ length: 60 }, () => ({ need: 2, asked: 2 })))
  assert.equal(shortfallPeak(flat, 59_000, HORIZON_MS, STARTUP_MS), 0)
  // 2 → 5 at 30 s; the autoscaler asks for 5 at once, but what was asked 10 s before was 2: 3 short for a start-up.
  const step = samplesOf(Array.from({ length: 60 }, (_, i) => (i < 30 ? { need: 2, asked: 2 } : { need: 5, asked: 5 })))
  assert.equal(shortfallPeak(step, 59_000, HORIZON_MS, STARTUP_MS), 3)
  // A ramp slower than a start-up: each start-up's rise is what it lacks (1 per 10 s: 1).
  const ramp = samplesOf(
    Array.from({ length: 60 }, (_, i) => ({ need: 2 + Math.floor(i / 10), asked: 2 + Math.floor(i / 10) })),
  )
  assert.equal(shortfallPeak(ramp, 59_000, HORIZON_MS, STARTUP_MS), 1)
})

test('a burst is forgotten once it leaves the horizon', () => {
  const ticks = Array.from({ length: 120 }, (_, i) =>
    i >= 20 && i < 30 ? { need: 6, asked: 6 } : { need: 1, asked: 1 },
  )
  let history: DemandSample[] = []
  for (const [i, t] of ticks.entries()) {
    history = recordDemand(history, { at: i * 1000, ...t }, 60_000, STARTUP_MS)
    if (i === 80) assert.equal(shortfallPeak(history, i * 1000, 60_000, STARTUP_MS), 5)
  }
  assert.equal(shortfallPeak(history, 119_000, 60_000, STARTUP_MS), 0)
})

test('the standby setting: off, a count (capped at the maximum), auto (the shortfall, capped)', () => {
  const step = samplesOf(Array.from({ length: 40 }, (_, i) => (i < 20 ? { need: 1, asked: 1 } : { need: 9, asked: 9 })))
  assert.equal(desiredStandbys('off', { min: 1, max: 4 }, step, 39_000, HORIZON_MS, STARTUP_MS), 0)
  assert.equal(desiredStandbys(2, { min: 1, max: 4 }, step, 39_000, HORIZON_MS, STARTUP_MS), 2)
  assert.equal(desiredStandbys(7, { min: 1, max: 4 }, step, 39_000, HORIZON_MS, STARTUP_MS), 4)
  assert.equal(desiredStandbys('auto', { min: 1, max: 4 }, step, 39_000, HORIZON_MS, STARTUP_MS), 4)
  assert.equal(desiredStandbys('auto', { min: 1, max: 10 }, step, 39_000, HORIZON_MS, STARTUP_MS), 8)
  // Before any burst: the floor, so the first burst finds one.
  const flat = samplesOf(Array.from({ length: 40 }, () => ({ need: 1, asked: 1 })))
  assert.equal(desiredStandbys('auto', { min: 1, max: 4 }, flat, 39_000, HORIZON_MS, STARTUP_MS), 1)
  assert.equal(desiredStandbys('auto', { min: 0, max: 4 }, flat, 39_000, HORIZON_MS, STARTUP_MS), 0)
  assert.equal(parseStandbySetting('AUTO'), 'auto')
  assert.equal(parseStandbySetting('0'), 'off')
  assert.equal(parseStandbySetting('3'), 3)
  assert.throws(() => parseStandbySetting('-1'), /off, auto or a number/)
  assert.throws(() => parseStandbySetting('lots'), /off, auto or a number/)
})

test('the standby count is within [min, max], and never falls when any demand sample rises (property)', () => {
  const tick = fc.record({ need: fc.integer({ min: 0, max: 12 }), asked: fc.integer({ min: 0, max: 12 }) })
  fc.assert(
    fc.property(
      fc.array(tick, { minLength: 1, maxLength: 80 }),
      fc.nat(),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 3 }),
      (ticks, pick, extra, max, floor) => {
        const now = (ticks.length - 1) * 1000
        const bounds = { min: floor, max }
        const k = desiredStandbys('auto', bounds, samplesOf(ticks), now, HORIZON_MS, STARTUP_MS)
        assert.ok(k >= Math.min(floor, max) && k <= max)
        const raised = ticks.map((t, i) => (i === pick % ticks.length ? { ...t, need: t.need + extra } : t))
        const after = desiredStandbys('auto', bounds, samplesOf(raised), now, HORIZON_MS, STARTUP_MS)
        assert.ok(after >= k, `raising a need lowered the count: ${k} → ${after}`)
        // Kept history reaches back no further than the horizon plus one start-up.
        for (const s of samplesOf(ticks)) assert.ok(s.at >= now - HORIZON_MS - STARTUP_MS)
      },
    ),
  )
})

const pod = (name: string, phase: RolePod['phase'], role: RolePod['role'], createdAt: number): RolePod => ({
  name,
  phase,
  role,
  createdAt,
})

test('scaling up promotes ready standbys first, then booting ones, then orders pods; new pods refill the standbys', () => {
  const pods = [
    pod('s1', 'ready', 'serving', 0),
    pod('b1', 'booting', 'standby', 30),
    pod('w1', 'ready', 'standby', 20),
    pod('w2', 'ready', 'standby', 10),
  ]
  assert.deepEqual(planRoles(pods, { serving: 3, standby: 3 }), {
    promote: ['w2', 'w1'],
    demote: [],
    create: { serving: 0, standby: 2 },
    remove: [],
  })
  assert.deepEqual(planRoles(pods, { serving: 6, standby: 1 }), {
    promote: ['w2', 'w1', 'b1'],
    demote: [],
    create: { serving: 2, standby: 1 },
    remove: [],
  })
})

test('scaling down demotes warm serving pods while the standby pool is short, deletes the rest, pending first', () => {
  const pods = [
    pod('s1', 'ready', 'serving', 0),
    pod('s2', 'ready', 'serving', 10),
    pod('s3', 'ready', 'serving', 20),
    pod('p1', 'pending', 'serving', 30),
    pod('w1', 'ready', 'standby', 5),
  ]
  assert.deepEqual(planRoles(pods, { serving: 1, standby: 2 }), {
    promote: [],
    demote: ['s2'],
    create: { serving: 0, standby: 0 },
    remove: ['p1', 's3'],
  })
  assert.deepEqual(planRoles(pods, { serving: 4, standby: 0 }), {
    promote: [],
    demote: [],
    create: { serving: 0, standby: 0 },
    remove: ['w1'],
  })
})

test('a plan reaches its target, touches each pod at most once, and never orders a pod while a standby waits (property)', () => {
  const podArb = fc.record({
    phase: fc.constantFrom('pending', 'booting', 'ready') as fc.Arbitrary<RolePod['phase']>,
    role: fc.constantFrom('serving', 'standby') as fc.Arbitrary<RolePod['role']>,
    createdAt: fc.integer({ min: 0, max: 1000 }),
  })
  fc.assert(
    fc.property(
      fc.array(podArb, { maxLength: 12 }),
      fc.integer({ min: 0, max: 10 }),
      fc.integer({ min: 0, max: 6 }),
      (specs, serving, standby) => {
        const pods = specs.map((s, i) => ({ ...s, name: `p${i}` }))
        const plan = planRoles(pods, { serving, standby })
        const touched = [...plan.promote, ...plan.demote, ...plan.remove]
        assert.equal(new Set(touched).size, touched.length, 'a pod in two lists')
        const role = new Map(pods.map((p) => [p.name, p.role]))
        for (const n of plan.promote) assert.equal(role.get(n), 'standby')
        for (const n of plan.demote) assert.equal(role.get(n), 'serving')
        for (const n of plan.remove) role.delete(n)
        for (const n of plan.promote) role.set(n, 'serving')
        for (const n of plan.demote) role.set(n, 'standby')
        const count = (r: string) => [...role.values()].filter((v) => v === r).length
        assert.equal(count('serving') + plan.create.serving, serving)
        assert.equal(count('standby') + plan.create.standby, standby)
        if (plan.create.serving > 0)
          assert.equal(
            pods.filter((p) => p.role === 'standby' && !plan.promote.includes(p.name)).length,
            0,
            'ordered a pod while a standby could have been promoted',
          )
        // Demote and promote never in the same plan: roles only move one way at a time.
        assert.ok(plan.promote.length === 0 || plan.demote.length === 0)
      },
    ),
  )
})
