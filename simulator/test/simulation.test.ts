import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createRandom } from '../../common/random.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { comparePolicies, meetsTarget } from '../src/compare.ts'
import { fixedPolicy, HPA_DEFAULTS, hpaCpuPolicy, type SimulatedPolicy } from '../src/policies.ts'
import { fitServiceTime, readServiceTime, serviceTimeSampler } from '../src/service-time.ts'
import { simulate } from '../src/simulation.ts'

const constant20ms = fitServiceTime(
  Array.from({ length: 100 }, () => 20),
  'test: always 20 ms',
)
const base = {
  serviceTime: constant20ms,
  startupDelayMs: 5000,
  slotsPerReplica: 1,
  sloMs: 500,
  timeoutMs: 10_000,
  queueMax: 100_000,
  seed: 1,
}

describe('service-time model', () => {
  test('fitting keeps the distribution: samples drawn from it have the measured quantiles', () => {
    const random = createRandom(3)
    const measured = Array.from({ length: 5000 }, () => 20 + 30 * random() ** 3)
    const model = fitServiceTime(measured, 'test')
    const draw = serviceTimeSampler(model, createRandom(4))
    const drawn = Array.from({ length: 20_000 }, draw).sort((a, b) => a - b)
    assert.ok(Math.abs(drawn[10_000]! - model.p50_ms) < 0.5)
    assert.ok(Math.abs(drawn[19_800]! - model.p99_ms) < 1)
    assert.ok(drawn[0]! >= model.quantiles_ms[0]! && drawn.at(-1)! <= model.quantiles_ms[100]!)
  })

  test('the committed measurement is a real distribution from the replica benchmark', () => {
    const model = readServiceTime(fileURLToPath(new URL('../data/service-time-replica.json', import.meta.url)))
    assert.ok(model.samples >= 100)
    assert.ok(model.mean_ms > 5 && model.mean_ms < 1000)
    assert.ok(model.quantiles_ms.every((q, i) => i === 0 || q >= model.quantiles_ms[i - 1]!))
  })
})

describe('simulate', () => {
  test('below capacity: everything is served at the service time; fixed replicas cost N × duration', () => {
    const result = simulate({ ...base, workload: Array(60).fill(20), policy: fixedPolicy(2), initialReplicas: 2 })
    assert.equal(result.requests, 1200)
    assert.equal(result.dropped, 0)
    assert.equal(result.slowShare, 0)
    assert.ok(result.p50Ms >= 20 && result.p50Ms < 30, `p50 ${result.p50Ms}`)
    assert.equal(result.replicaSeconds, 120)
    assert.equal(result.meanReplicas, 2)
  })

  test('above capacity: the queue grows, latency passes the SLO, and requests past their deadline are dropped', () => {
    // One replica serves 50 req/s; 80 req/s for 60 s leaves 30 req/s queueing.
    const result = simulate({
      ...base,
      workload: Array(60).fill(80),
      policy: fixedPolicy(1),
      initialReplicas: 1,
      timeoutMs: 5000,
    })
    assert.ok(result.slowShare > 0.3)
    assert.ok(result.dropped > 0)
    assert.ok(result.timeline.at(-1)!.queue > 100)
  })

  test('a new replica only helps after its start-up delay', () => {
    const scaleAtTen: SimulatedPolicy = { name: 'at-10s', intervalMs: 10_000, decide: (o) => (o.now >= 10_000 ? 2 : 1) }
    const result = simulate({
      ...base,
      workload: Array(30).fill(10),
      policy: scaleAtTen,
      initialReplicas: 1,
      startupDelayMs: 7000,
    })
    const ready = (second: number) => result.timeline[second]!.ready
    assert.equal(ready(9), 1)
    assert.equal(result.timeline[12]!.replicas, 2, 'paid for from the decision')
    assert.equal(ready(15), 1, 'not ready before 10 + 7 s')
    assert.equal(ready(17), 2)
  })

  test('the same seed gives the same run', () => {
    const run = () => simulate({ ...base, workload: [5, 50, 80, 20], policy: fixedPolicy(1), initialReplicas: 1 })
    assert.deepEqual(run(), run())
  })

  test('HPA: no change within the 10 % tolerance, up on its sync, down only after 300 s', () => {
    // 45 req/s × 20 ms = 0.9 busy on one replica; at a 70 % target that asks for ceil(0.9 / 0.7) = 2.
    const workload = [...Array(60).fill(45), ...Array(400).fill(5)]
    const result = simulate({
      ...base,
      workload,
      policy: hpaCpuPolicy(0.7, { ...HPA_DEFAULTS, minReplicas: 1, maxReplicas: 10 }),
      initialReplicas: 1,
      startupDelayMs: 1000,
    })
    const replicasAt = (second: number) => result.timeline[second]!.replicas
    assert.equal(replicasAt(10), 1, 'nothing before the first 15 s sync')
    assert.equal(replicasAt(20), 2)
    assert.equal(replicasAt(300), 2, 'still up within 300 s of the last high recommendation')
    assert.equal(replicasAt(420), 1)
  })
})

test('on the canonical workload, custom meets the target against HPA-70 (measured service time and start-up)', () => {
  const workload = readWorkload(fileURLToPath(new URL('../../workload/workload.txt', import.meta.url)))
  const serviceTime = readServiceTime(fileURLToPath(new URL('../data/service-time-replica.json', import.meta.url)))
  const results = comparePolicies({
    workload,
    serviceTime,
    startupDelayMs: serviceTime.startup_ms ?? 5000,
    sloMs: 500,
    seed: 1,
  })
  const target = meetsTarget(results)
  assert.ok(target.met, `slow ratio ${target.slowRatio}, replica-seconds ratio ${target.costRatio}`)
})
