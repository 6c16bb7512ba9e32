import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createRandom } from '../../common/random.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import {
  CUSTOM_DEFAULTS,
  comparePolicies,
  controllerPhases,
  makeController,
  rightSizedFixed,
  SELECTABLE_POLICY_NAMES,
  simulateController,
  summarizeSeeds,
  WHOLE_CORE,
} from '../src/compare.ts'
import { fixedController, hpaCpuController } from '../src/controllers/baselines.ts'
import type { ScalingController } from '../src/controllers/cluster-state.ts'
import { fitServiceTime, MEASURED_SERVICE_TIME, readServiceTime, serviceTimeSampler } from '../src/service-time.ts'
import { type SimulationResult, simulate } from '../src/simulation.ts'

const constant20ms = fitServiceTime(
  Array.from({ length: 100 }, () => 20),
  'test: always 20 ms',
)
/** A controller that asks for `after` replicas from `at` ms on. */
const stepController = (at: number, before: number, after: number): ScalingController => ({
  name: 'step',
  initialReplicas: before,
  tick: (state) => (state.now >= at ? after : undefined),
})
const base = {
  serviceTime: constant20ms,
  startup: { provisioningMs: 0, bootMs: [5000] },
  cpu: WHOLE_CORE,
  signal: { ...CUSTOM_DEFAULTS, minReplicas: 1, maxReplicas: 10, drainTimeS: 0.5, startupS: 5, slotsPerReplica: 1 },
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
    const model = readServiceTime(MEASURED_SERVICE_TIME)
    assert.ok(model.samples >= 100)
    assert.ok(model.mean_ms > 5 && model.mean_ms < 1000)
    assert.ok(model.quantiles_ms.every((q, i) => i === 0 || q >= model.quantiles_ms[i - 1]!))
  })
})

describe('simulate', () => {
  test('below capacity: everything is served at the service time; fixed replicas cost N × duration', () => {
    const result = simulate({ ...base, workload: Array(60).fill(20), controller: fixedController(2) })
    assert.equal(result.requests, 1200)
    assert.equal(result.dropped, 0)
    assert.equal(result.slowShare, 0)
    assert.ok(result.p50Ms >= 20 && result.p50Ms < 30, `p50 ${result.p50Ms}`)
    assert.equal(result.replicaSeconds, 120)
    assert.equal(result.meanReplicas, 2)
  })

  test('above capacity: the queue grows, latency passes the SLO, and requests past their deadline are dropped', () => {
    // One replica serves 50 req/s; 80 req/s for 60 s leaves 30 req/s queueing.
    const result = simulate({ ...base, workload: Array(60).fill(80), controller: fixedController(1), timeoutMs: 5000 })
    assert.ok(result.slowShare > 0.3)
    assert.ok(result.dropped > 0)
    assert.ok(result.timeline.at(-1)!.queue > 100)
  })

  test("with the gateway's admission, overload is refused at once instead of queueing past the SLO", () => {
    const result = simulate({
      ...base,
      workload: Array(60).fill(80),
      controller: fixedController(1),
      admissionBudgetMs: 500,
    })
    assert.ok(result.dropped > 0.3 * result.requests, `${result.dropped} refused of ${result.requests}`)
    // What is admitted is served within the budget (the estimate has headroom), not after seconds in a queue.
    assert.ok(result.p99Ms < 500, `p99 of the served ${result.p99Ms} ms`)
    assert.ok(Math.max(...result.timeline.map((t) => t.queue)) < 30)
  })

  test('a warm-up is played and scaled on, but its requests, cost and seconds are not measured', () => {
    // Overload on one replica until the step to 3 (asked at 5 s) is ready, then 30 s it carries: only those measured.
    const workload = [...Array(30).fill(60), ...Array(30).fill(20)]
    const controller = stepController(5000, 1, 3)
    const whole = simulate({ ...base, workload, controller })
    const warmed = simulate({ ...base, workload, controller, warmupS: 30 })
    assert.ok(whole.slowShare > 0.05, `the unmeasured run is slow: ${whole.slowShare}`)
    assert.equal(warmed.slowShare, 0)
    assert.ok(Math.abs(warmed.requests - 600) < 100, `${warmed.requests} requests measured`)
    assert.equal(warmed.replicaSeconds, 90, 'three pods for the 30 measured seconds')
    assert.equal(warmed.timeline.length, 30)
    assert.equal(warmed.timeline[0]!.second, 0)
    assert.equal(warmed.timeline[0]!.replicas, 3, 'the measured part starts from the pool the warm-up built')
  })

  test('a new pod is pending for the provisioning delay, then boots, and is paid for from the decision', () => {
    const result = simulate({
      ...base,
      workload: Array(30).fill(10),
      controller: stepController(10_000, 1, 2),
      startup: { provisioningMs: 4000, bootMs: [3000] },
    })
    const ready = (second: number) => result.timeline[second]!.ready
    assert.equal(ready(9), 1)
    assert.equal(result.timeline[11]!.replicas, 2, 'paid for from the decision')
    assert.equal(ready(15), 1, 'not ready before 10 + 4 + 3 s')
    assert.equal(ready(17), 2)
  })

  test('contention: service times stretch with the pods using CPU at once', () => {
    const alone = simulate({ ...base, workload: Array(20).fill(5), controller: fixedController(1) })
    const crowded = simulate({ ...base, workload: Array(20).fill(5), controller: fixedController(1), contention: [2] })
    assert.ok(
      crowded.p50Ms > 1.9 * alone.p50Ms && crowded.p50Ms < 2.1 * alone.p50Ms,
      `${alone.p50Ms} → ${crowded.p50Ms}`,
    )
  })

  test('the same seed gives the same run', () => {
    const run = () =>
      simulate({
        ...base,
        workload: [5, 50, 80, 20],
        controller: hpaCpuController(0.7, 1, { minReplicas: 1, maxReplicas: 5 }, controllerPhases(3)),
      })
    assert.deepEqual(run(), run())
  })

  test('HPA: reacts only on its sync after metrics-server has two scrapes, and scales down only after 300 s', () => {
    // 45 req/s × 20 ms = 0.9 of a core on one pod; at a 70 % target that asks for ceil(0.9 / 0.7) = 2.
    const workload = [...Array(60).fill(45), ...Array(400).fill(5)]
    const phases = { hpaSyncMs: 0, metricsScrapeMs: 0, prometheusScrapeMs: 0 }
    const result = simulate({
      ...base,
      workload,
      controller: hpaCpuController(0.7, 1, { minReplicas: 1, maxReplicas: 10 }, phases),
      startup: { provisioningMs: 0, bootMs: [1000] },
    })
    const replicasAt = (second: number) => result.timeline[second]!.replicas
    // Scrapes at 0 and 15 s give the first rate at 15 s; the sync at 15 s acts on it.
    assert.equal(replicasAt(14), 1, 'no metric before the second scrape')
    assert.equal(replicasAt(16), 2)
    assert.equal(replicasAt(300), 2, 'still up within 300 s of the last high recommendation')
    assert.equal(replicasAt(420), 1)
  })

  test('controller phases are drawn per seed, within their periods, and repeat for the same seed', () => {
    const phases = Array.from({ length: 20 }, (_, seed) => controllerPhases(seed))
    for (const p of phases) {
      assert.ok(p.hpaSyncMs >= 0 && p.hpaSyncMs < 15_000 && p.hpaSyncMs % 1000 === 0)
      assert.ok(p.metricsScrapeMs >= 0 && p.metricsScrapeMs < 15_000)
      assert.ok(p.prometheusScrapeMs >= 0 && p.prometheusScrapeMs < 5000)
    }
    assert.ok(new Set(phases.map((p) => p.hpaSyncMs)).size > 3, 'phases differ between seeds')
    assert.deepEqual(controllerPhases(7), controllerPhases(7))
  })

  test('right-sizing a fixed count finds the smallest N within the violation budget', () => {
    const scenario = {
      workload: Array(60).fill(120),
      serviceTime: constant20ms,
      startup: base.startup,
      cpu: WHOLE_CORE,
      sloMs: 500,
      seed: 1,
      maxReplicas: 10,
    }
    const n = rightSizedFixed(scenario, [1, 2])
    // 120 req/s × 20 ms = 2.4 cores: 3 replicas are enough, 2 are not.
    assert.equal(n, 3)
    assert.ok(simulateController(fixedController(n - 1), scenario).slowShare > 0.01)
  })

  test('seed summaries: the mean of each figure and the range of violations and replica-seconds, in order', () => {
    const row = (policy: string, slowShare: number, replicaSeconds: number) =>
      ({ policy, slowShare, replicaSeconds, p99Ms: 100 }) as unknown as SimulationResult
    const summaries = summarizeSeeds([
      [row('a', 0.1, 100), row('b', 0, 50)],
      [row('a', 0.3, 200), row('b', 0, 70)],
    ])
    assert.deepEqual(
      summaries.map((s) => [s.policy, s.seeds, s.slowShare, s.replicaSeconds]),
      [
        ['a', 2, { mean: 0.2, min: 0.1, max: 0.3 }, { mean: 150, min: 100, max: 200 }],
        ['b', 2, { mean: 0, min: 0, max: 0 }, { mean: 60, min: 50, max: 70 }],
      ],
    )
  })
})

test('on the canonical workload (measured service time and start-up), custom misses the SLO less often than HPA-70', () => {
  const workload = readWorkload(fileURLToPath(new URL('../../workload/workload.txt', import.meta.url)))
  const serviceTime = readServiceTime(MEASURED_SERVICE_TIME)
  const results = comparePolicies({
    workload,
    serviceTime,
    startup: { provisioningMs: 0, bootMs: [serviceTime.startup_ms ?? 5000] },
    cpu: WHOLE_CORE,
    sloMs: 500,
    seed: 1,
    policies: ['custom', 'hpa-70'],
  })
  const [custom, hpa] = results
  assert.ok(custom!.slowShare < hpa!.slowShare, `custom ${custom!.slowShare}, hpa-70 ${hpa!.slowShare}`)
})

test('every selectable policy makes its own controller; the clairvoyant one orders pods one start-up ahead', () => {
  const workload = [...Array(30).fill(10), ...Array(30).fill(200)]
  const scenario = {
    workload,
    serviceTime: constant20ms,
    startup: { provisioningMs: 10_000, bootMs: [1000] },
    cpu: WHOLE_CORE,
    sloMs: 500,
    seed: 1,
    maxReplicas: 8,
  }
  for (const name of SELECTABLE_POLICY_NAMES) {
    const controller = makeController(name, scenario, 2)
    const expected = name === 'fixed' ? 'fixed-2' : name === 'clairvoyant' ? 'clairvoyant-80' : name
    assert.equal(controller.name, expected)
  }
  const clairvoyant = simulateController(makeController('clairvoyant', scenario), scenario)
  assert.equal(clairvoyant.slowShare, 0, 'it knew the step was coming')
  const hpa = simulateController(makeController('hpa-30', scenario), scenario)
  assert.ok(hpa.slowShare > 0, 'the HPA could not')
})

describe('simulate: brownout (a cheaper fallback answers what the model would not in time)', () => {
  const constant300ms = fitServiceTime(
    Array.from({ length: 100 }, () => 300),
    'test: always 300 ms',
  )
  const overloaded = {
    ...base,
    serviceTime: constant300ms,
    admissionBudgetMs: 500,
    controller: fixedController(2),
  }

  test('overloaded: the fallback serves part of what admission refused; fewer misses; counted apart', () => {
    // Two replicas at 300 ms serve 6.7 req/s; 12 req/s arrive.
    const workload = Array(30).fill(12)
    const plain = simulate({ ...overloaded, workload })
    const brownout = simulate({ ...overloaded, workload, brownout: { serviceRatio: 0.2 } })
    assert.equal(plain.degraded, 0)
    assert.ok(plain.dropped > 0, 'admission refuses without a fallback')
    assert.ok(brownout.degraded > 0)
    assert.ok(brownout.served > plain.served, `${brownout.served} served vs ${plain.served}`)
    assert.ok(brownout.slowShare < plain.slowShare, `${brownout.slowShare} vs ${plain.slowShare}`)
    assert.equal(brownout.requests, plain.requests, 'the same arrivals')
  })

  test('below capacity the fallback is never used', () => {
    const result = simulate({ ...overloaded, workload: Array(30).fill(2), brownout: { serviceRatio: 0.2 } })
    assert.equal(result.degraded, 0)
    assert.equal(result.dropped, 0)
  })

  test('comparePolicies gives brownout to the custom policy only', () => {
    const scenario = {
      workload: [...Array(20).fill(4), ...Array(20).fill(14)],
      serviceTime: constant300ms,
      startup: { provisioningMs: 10_000, bootMs: [2000] },
      cpu: WHOLE_CORE,
      sloMs: 500,
      seed: 1,
      maxReplicas: 8,
      fixedReplicas: 2,
      policies: ['custom', 'hpa-70', 'fixed'] as const,
      brownout: { serviceRatio: 0.2 },
    }
    const [custom, hpa, fixed] = comparePolicies(scenario)
    assert.ok(custom!.degraded > 0, 'the burst outruns the pool for a start-up: the fallback answers')
    assert.equal(hpa!.degraded, 0)
    assert.equal(fixed!.degraded, 0)
    assert.ok(summarizeSeeds([[custom!, hpa!, fixed!]])[0]!.degradedShare.mean > 0)
  })
})
