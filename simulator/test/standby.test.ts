import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CUSTOM_DEFAULTS, WHOLE_CORE } from '../src/compare.ts'
import type { ScalingController } from '../src/controllers/cluster-state.ts'
import { fitServiceTime } from '../src/service-time.ts'
import { simulate } from '../src/simulation.ts'

const constant20ms = fitServiceTime(
  Array.from({ length: 100 }, () => 20),
  'test: always 20 ms',
)
/** Serving `before` then `after` pods from `at` ms, with `standbys` warm ones throughout. */
const withStandbys = (at: number, before: number, after: number, standbys: number): ScalingController => ({
  name: 'step-with-standbys',
  initialReplicas: before,
  tick: (state) => (state.now >= at ? after : undefined),
  standbys: () => standbys,
})
const options = (controller: ScalingController, workload: number[]) => ({
  workload,
  serviceTime: constant20ms,
  startup: { provisioningMs: 0, bootMs: [20_000] },
  cpu: WHOLE_CORE,
  signal: { ...CUSTOM_DEFAULTS, minReplicas: 1, maxReplicas: 10, drainTimeS: 0.5, startupS: 20, slotsPerReplica: 1 },
  slotsPerReplica: 1,
  sloMs: 500,
  timeoutMs: 10_000,
  queueMax: 100_000,
  seed: 1,
  standby: { resizeDelayMs: 1000, standbyCores: 0.05 },
  controller,
})

test('a standby is promoted by a resize: it serves a second after the decision, and a new pod refills the pool', () => {
  const workload = Array.from({ length: 90 }, () => 5)
  const result = simulate(options(withStandbys(40_000, 1, 2, 1), workload))
  const at = (second: number) => result.timeline[second]!
  // The standby boots (20 s) and waits; at 40 s it is promoted and serves after the 1 s resize, not a start-up.
  assert.equal(at(30).ready, 1)
  assert.equal(at(30).standbys, 1)
  assert.equal(at(30).replicas, 2)
  assert.equal(at(41).ready, 2, 'the promoted standby serves one resize after the decision')
  // Behind it, a new pod boots into the standby pool: 3 pods paid for, 2 serving.
  assert.equal(at(45).replicas, 3)
  assert.equal(at(45).standbys, 1)
  assert.equal(at(45).ready, 2)
})

test('cost both ways: a waiting standby counts at its small request, and at its full size as what the node must hold', () => {
  const workload = Array.from({ length: 60 }, () => 2)
  const none = simulate(options(withStandbys(1e9, 1, 1, 0), workload))
  assert.equal(none.standbySeconds, 0)
  assert.equal(none.requestedCoreSeconds, none.nodeCoreSeconds)
  const two = simulate(options(withStandbys(1e9, 1, 1, 2), workload))
  // Two standbys from the first tick: paid in full while they boot, at 0.05 cores once ready.
  assert.ok(Math.abs(two.standbySeconds - 2 * 60) < 1.5, `${two.standbySeconds}`)
  assert.ok(Math.abs(two.nodeCoreSeconds - 3 * 60) < 1.5, `${two.nodeCoreSeconds}`)
  const booting = 2 * 20
  const waiting = 2 * (60 - 20) * 0.05
  assert.ok(Math.abs(two.requestedCoreSeconds - (60 + booting + waiting)) < 1.5, `${two.requestedCoreSeconds}`)
  // Standbys are never routed to: every answer came from the serving pod, at its service time.
  assert.equal(two.slowShare, 0)
})

test('scaling down demotes a warm serving pod into a short standby pool instead of deleting it', () => {
  const workload = Array.from({ length: 60 }, () => 2)
  // 2 serving and no standby, then 1 serving and 1 standby: the pod leaving service is the standby, no new pod.
  const controller: ScalingController = {
    name: 'down-into-standby',
    initialReplicas: 2,
    tick: (state) => (state.now >= 30_000 ? 1 : undefined),
    standbys: (state) => (state.now >= 30_000 ? 1 : 0),
  }
  const result = simulate(options(controller, workload))
  const at = (second: number) => result.timeline[second]!
  assert.deepEqual([at(25).replicas, at(25).ready, at(25).standbys], [2, 2, 0])
  assert.deepEqual([at(35).replicas, at(35).ready, at(35).standbys], [2, 1, 1])
})

test('scaled to zero, a request waits while a standby is promoted and is served; without scale to zero it is refused', () => {
  // Nothing serving, one standby booted (20 s); the controller serves 1 pod from 30 s, when the requests start.
  const controller: ScalingController = {
    name: 'wake-at-30s',
    initialReplicas: 0,
    tick: (state) => (state.now >= 30_000 ? 1 : 0),
    standbys: (state) => (state.now >= 30_000 ? 0 : 1),
  }
  const workload = [...Array.from({ length: 30 }, () => 0), ...Array.from({ length: 30 }, () => 2)]
  // With the gateway's admission (its SLO as the budget).
  const awake = simulate({ ...options(controller, workload), admissionBudgetMs: 500, scaleToZero: true })
  assert.equal(awake.dropped, 0, 'every request waited for the wake-up')
  assert.equal(awake.timeline[31]!.ready, 1)
  assert.ok(awake.p99Ms < 2500, `the first ones waited about a resize, not a start-up: p99 ${awake.p99Ms} ms`)
  const refused = simulate({ ...options(controller, workload), admissionBudgetMs: 500 })
  assert.ok(refused.dropped > 0, 'without scale to zero the first requests are refused (no_replica)')
})
