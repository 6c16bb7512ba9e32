import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Actuator, Autoscaler } from '../src/autoscale/autoscaler.ts'
import { testAutoscalerOptions } from './helpers.ts'

function recordingActuator() {
  const applied: [number, number | undefined][] = []
  const actuator: Actuator = {
    name: 'kubernetes',
    apply: async (replicas, standbys) => {
      applied.push([replicas, standbys])
    },
  }
  return { applied, actuator }
}

test('with STANDBY=auto the actuator gets the floor of standbys at once, and more after a burst the pool could not absorb', async () => {
  const { applied, actuator } = recordingActuator()
  const options = { ...testAutoscalerOptions, startupS: 10, standby: 'auto' as const, minStandbys: 1, maxStandbys: 4 }
  let ready = 1
  // Not yet leading at construction: the first tick writes what it wants.
  let leads = false
  const cluster = { identity: 'g', peers: () => [], leads: () => leads }
  const autoscaler = new Autoscaler(options, actuator, () => ({ backlog: 0, readyReplicas: ready }), 0, 1, cluster)
  leads = true
  for (let t = 0; t < 10_000; t += 200) autoscaler.recordArrival(t)
  const quiet = autoscaler.tick(10_000)
  assert.equal(quiet.desired, 1)
  assert.equal(quiet.standbys, 1, 'before any burst: the floor')
  // A burst within one start-up (40 req/s for 3 s): what it asks for beyond the 1 asked 10 s before is the shortfall.
  for (let t = 10_000; t < 13_000; t += 25) autoscaler.recordArrival(t)
  const burst = autoscaler.tick(13_000)
  assert.ok(burst.decision.shortWindow >= 3, `short window ${burst.decision.shortWindow}`)
  assert.equal(burst.standbys, Math.min(4, burst.decision.shortWindow - 1), 'the shortfall, within MAX_STANDBYS')
  ready = burst.desired
  await autoscaler.settled()
  assert.deepEqual(applied[0], [1, 1])
  assert.deepEqual(applied.at(-1), [burst.desired, burst.standbys])
  // Nothing changed: nothing more to apply.
  const count = applied.length
  autoscaler.tick(13_500)
  await autoscaler.settled()
  assert.equal(applied.length, count)
})

test('with standbys off (the default of the options) the actuator is told 0 and the status says 0', async () => {
  const { applied, actuator } = recordingActuator()
  let leads = false
  const cluster = { identity: 'g', peers: () => [], leads: () => leads }
  const load = () => ({ backlog: 0, readyReplicas: 1 })
  const autoscaler = new Autoscaler({ ...testAutoscalerOptions, minReplicas: 2 }, actuator, load, 0, 1, cluster)
  leads = true
  const status = autoscaler.tick(1000)
  await autoscaler.settled()
  assert.equal(status.standbys, 0)
  assert.deepEqual(applied, [[2, 0]])
})

test('never more standbys than could be promoted: the serving pool plus standbys stays within MAX_REPLICAS', () => {
  const options = { ...testAutoscalerOptions, startupS: 10, standby: 3 as const, maxStandbys: 4, maxReplicas: 4 }
  const autoscaler = new Autoscaler(options, undefined, () => ({ backlog: 0, readyReplicas: 1 }), 0, 1)
  assert.equal(autoscaler.tick(1000).standbys, 3)
  for (let t = 1000; t < 4000; t += 25) autoscaler.recordArrival(t)
  const burst = autoscaler.tick(4000)
  assert.ok(burst.desired >= 2, `desired ${burst.desired}`)
  assert.equal(burst.standbys, 4 - burst.desired)
})
