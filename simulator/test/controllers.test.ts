import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  customController,
  fixedController,
  hpaCpuController,
  kedaDesiredController,
} from '../src/controllers/baselines.ts'
import type { ClusterState, PodView, ScalingController } from '../src/controllers/cluster-state.ts'
import {
  applyBehaviour,
  cpuReplicas,
  defaultBehaviour,
  emptyMemory,
  externalAverageValueReplicas,
  groupPods,
  type HpaPod,
} from '../src/controllers/hpa-algorithm.ts'
import { MetricsServer } from '../src/controllers/metrics-server.ts'

const NOW = 1_000_000

/** A running, ready pod started long ago (past the CPU initialisation period) with a fresh 15 s sample. */
function pod(name: string, cores: number | undefined, extra: Partial<HpaPod> = {}): HpaPod {
  return {
    name,
    phase: 'running',
    ready: true,
    startedAt: 0,
    readyTransitionAt: 0,
    requestCores: 1,
    ...(cores === undefined ? {} : { metric: { cores, timestamp: NOW, windowMs: 15_000 } }),
    ...extra,
  }
}
const pending = (name: string): HpaPod => ({ name, phase: 'pending', ready: false, requestCores: 1 })
const pods = (n: number, cores: number) => Array.from({ length: n }, (_, i) => pod(`p${i}`, cores))

/** Ticks a controller once a second from 0 to untilMs; the Deployment follows the controller at once. */
function drive(
  controller: ScalingController,
  untilMs: number,
  state: (now: number, spec: number) => Omit<ClusterState, 'now' | 'specReplicas'>,
) {
  let spec = controller.initialReplicas
  const answers: { at: number; replicas: number }[] = []
  const changes: { at: number; replicas: number }[] = []
  for (let now = 0; now <= untilMs; now += 1000) {
    const next = controller.tick({ now, specReplicas: spec, ...state(now, spec) })
    if (next === undefined) continue
    answers.push({ at: now, replicas: next })
    if (next !== spec) changes.push({ at: now, replicas: next })
    spec = next
  }
  return { answers, changes }
}
const readyPods = (n: number): PodView[] =>
  Array.from({ length: n }, (_, i) => ({ name: `p${i}`, phase: 'ready', startedAt: 0, readyAt: 0, cpuSeconds: 0 }))

describe('HPA replica calculator (CPU)', () => {
  test('asks for ceil(ready pods × utilisation / target), and keeps the current count within the 10 % tolerance', () => {
    // 3 × 0.8 of 1 core at target 0.7: ratio 1.143 → ceil(3.43) = 4.
    assert.equal(cpuReplicas(pods(3, 0.8), 0.7, 3, NOW), 4)
    // 4 × 0.2 at target 0.7: ratio 0.286 → ceil(1.14) = 2.
    assert.equal(cpuReplicas(pods(4, 0.2), 0.7, 4, NOW), 2)
    // 2 × 0.6 at target 0.7: ratio 0.857 is outside the tolerance → ceil(1.71) = 2.
    assert.equal(cpuReplicas(pods(2, 0.6), 0.7, 2, NOW), 2)
    // 3 × 0.75 at target 0.7: ratio 1.071 is within it → the current count (5), not ceil(3.21) = 4.
    assert.equal(cpuReplicas(pods(3, 0.75), 0.7, 5, NOW), 5)
    // Utilisation is a whole percent, as Kubernetes computes it: 5 × 849 m of 5 cores is 84 %, ratio 1.2 → 6 (not 1.213 → 7).
    assert.equal(cpuReplicas(pods(5, 0.849), 0.7, 5, NOW), 6)
  })

  test('gives no recommendation when no pod has a usable metric', () => {
    const initialising = pod('booting', 0.9, { ready: false, startedAt: NOW - 10_000, readyTransitionAt: NOW - 10_000 })
    assert.equal(cpuReplicas([pending('a'), pod('b', undefined), initialising], 0.7, 3, NOW), undefined)
    assert.equal(cpuReplicas([], 0.7, 1, NOW), undefined)
  })

  test('on a scale-up, unready and pending pods count as using nothing, which can keep the current count', () => {
    // 1 ready pod at 100 % + 1 pending, target 0.5: plain ratio 2, re-run ratio 1 → within tolerance → current.
    assert.equal(cpuReplicas([pod('a', 1), pending('b')], 0.5, 2, NOW), 2)
    // 3 ready at 100 % + 1 pending, target 0.7: plain ratio 1.43 would ask for 5; re-run 1.07 keeps 4.
    assert.equal(cpuReplicas([...pods(3, 1), pending('x')], 0.7, 4, NOW), 4)
    assert.equal(cpuReplicas(pods(3, 1), 0.7, 4, NOW), 5)
  })

  test('on a scale-down, pods missing a metric count as using their whole request', () => {
    // 1 ready at 0.4 + 3 missing, target 0.5: plain ratio 0.8, re-run (0.4 + 3) / 4 / 0.5 = 1.7 flips → current.
    assert.equal(
      cpuReplicas([pod('a', 0.4), pod('b', undefined), pod('c', undefined), pod('d', undefined)], 0.5, 4, NOW),
      4,
    )
    // 4 ready at 0.1 + 1 missing, target 0.5: re-run ratio 0.56 → ceil(2.8) = 3 rather than ceil(0.8) = 1.
    assert.equal(cpuReplicas([...pods(4, 0.1), pod('m', undefined)], 0.5, 5, NOW), 3)
  })

  test('a pod in its first 5 minutes is unready until a whole metric window has passed since it became ready', () => {
    const young = { startedAt: NOW - 60_000, readyTransitionAt: NOW - 20_000 }
    const early = pod('early', 1, { ...young, metric: { cores: 1, timestamp: NOW - 10_000, windowMs: 15_000 } })
    const settled = pod('settled', 1, { ...young, metric: { cores: 1, timestamp: NOW, windowMs: 15_000 } })
    const old = pod('old', 1, { ...early, name: 'old', startedAt: NOW - 400_000 })
    const notReady = pod('notReady', 1, { ...young, ready: false })
    const groups = groupPods([early, settled, old, notReady, pending('p'), pod('m', undefined)], NOW)
    assert.deepEqual(Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, v.map((p: HpaPod) => p.name)])), {
      ready: ['settled', 'old'],
      unready: ['early', 'notReady', 'p'],
      missing: ['m'],
    })
  })
})

describe('HPA behaviour', () => {
  test('scale-up is immediate but limited to max(2×, +4) per 15 s, and a second scale-up in the period shares it', () => {
    const b = defaultBehaviour(1, 20)
    let step = applyBehaviour(10, 1, b, emptyMemory(), 0)
    assert.equal(step.replicas, 5) // max(1 + 4, 2 × 1)
    step = applyBehaviour(10, 5, b, step.memory, 5000)
    assert.equal(step.replicas, 5) // the +4 of t = 0 still counts: the period started at 1
    step = applyBehaviour(10, 5, b, step.memory, 15_000)
    assert.equal(step.replicas, 10) // max(5 + 4, 2 × 5)
    assert.equal(applyBehaviour(50, 12, b, emptyMemory(), 0).replicas, 20) // max(2 × 12) = 24, capped at max
  })

  test('scale-down takes the highest recommendation of the last 300 s', () => {
    const b = defaultBehaviour(1, 20)
    let step = applyBehaviour(10, 10, b, emptyMemory(), 0)
    step = applyBehaviour(6, 10, b, step.memory, 15_000)
    assert.equal(step.replicas, 10)
    let current = step.replicas
    for (let now = 30_000; now < 300_000; now += 15_000) {
      step = applyBehaviour(2, current, b, step.memory, now)
      assert.equal(step.replicas, 10, `at ${now}`)
      current = step.replicas
    }
    step = applyBehaviour(2, current, b, step.memory, 300_000) // the 10 of t = 0 has left the window, the 6 has not
    assert.equal(step.replicas, 6)
    assert.equal(applyBehaviour(2, 6, b, step.memory, 315_000).replicas, 2)
    assert.equal(applyBehaviour(0, 3, b, emptyMemory(), 0).replicas, 1) // never below min
  })

  test('for any recommendations 15 s apart the count stays within bounds and follows the default behaviour (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 60 }),
        (start, recommendations) => {
          const b = defaultBehaviour(1, 20)
          let memory = emptyMemory()
          let current = start
          for (const [i, recommended] of recommendations.entries()) {
            const step = applyBehaviour(recommended, current, b, memory, i * 15_000)
            assert.ok(step.replicas >= 1 && step.replicas <= 20)
            assert.ok(step.replicas - current <= Math.max(current, 4))
            // The 20 calls in (now - 300 s, now] make up the scale-down window; scale-up is not stabilised.
            const windowMax = Math.max(...recommendations.slice(Math.max(0, i - 19), i + 1))
            const expected =
              recommended > current
                ? Math.min(recommended, 20, current + Math.max(current, 4))
                : Math.max(1, Math.min(current, windowMax))
            assert.equal(step.replicas, expected)
            memory = step.memory
            current = step.replicas
          }
        },
      ),
    )
  })
})

describe('metrics-server and KEDA', () => {
  test('an external AverageValue metric asks for ceil(value / target) unless within tolerance of the pods there are', () => {
    assert.equal(externalAverageValueReplicas(10, 1, 3), 10)
    assert.equal(externalAverageValueReplicas(2.5, 2, 1), 2) // ratio 1.25 → ceil(1.25)
    assert.equal(externalAverageValueReplicas(10.5, 1, 10), 10) // ratio 1.05: keep the 10 pods
    assert.equal(externalAverageValueReplicas(9.5, 1, 10), 10)
    assert.equal(externalAverageValueReplicas(2, 1, 10), 2)
    assert.equal(externalAverageValueReplicas(5, 1, 0), 5)
    // With no pods the ratio is infinite: 1.05 is not "within tolerance" of a pod that is not there.
    assert.equal(externalAverageValueReplicas(1.05, 1, 0), 2)
  })

  test('metrics-server publishes the rate between its last two scrapes, only for started pods that still exist', () => {
    const server = new MetricsServer(15_000, 2000)
    // 'a' uses 0.5 cores until 17 s, then 2 cores; 'b' is pending.
    const cpu = (now: number) => (now <= 17_000 ? 0.5 * (now / 1000) : 8.5 + 2 * ((now - 17_000) / 1000))
    const seen: Record<number, ReturnType<MetricsServer['metric']>> = {}
    for (let now = 0; now <= 47_000; now += 1000) {
      const list: PodView[] = [{ name: 'b', phase: 'pending', cpuSeconds: 0 }]
      if (now < 40_000) list.push({ name: 'a', phase: 'ready', startedAt: 0, readyAt: 0, cpuSeconds: cpu(now) })
      server.observe(now, list)
      seen[now] = server.metric('a')
      assert.equal(server.metric('b'), undefined)
    }
    assert.equal(seen[2000], undefined) // one scrape: no rate yet
    assert.equal(seen[16_000], undefined)
    assert.deepEqual(seen[17_000], { cores: 0.5, timestamp: 17_000, windowMs: 15_000 })
    assert.deepEqual(seen[31_000], seen[17_000]) // unchanged between scrapes
    assert.deepEqual(seen[32_000], { cores: 2, timestamp: 32_000, windowMs: 15_000 })
    assert.equal(seen[47_000], undefined) // 'a' was gone by the scrape at 47 s
  })

  test('KEDA follows the last scraped gauge, only on HPA syncs, with the legacy normalisation of an HPA without behaviour', () => {
    const phases = { hpaSyncMs: 7000, metricsScrapeMs: 0, prometheusScrapeMs: 3000 }
    // Prometheus scrapes at 3, 8, 13, 18, 23 … s; the HPA syncs at 7, 22, 37 … s.
    const gauge = (now: number) => (now >= 19_000 && now < 100_000 ? 5 : now >= 100_000 ? 2 : 1)
    const { answers, changes } = drive(
      kedaDesiredController({ minReplicas: 1, maxReplicas: 20 }, phases),
      420_000,
      (now, spec) => ({
        pods: readyPods(spec),
        gauges: { desiredReplicas: gauge(now), inSystem: 0 },
      }),
    )
    assert.ok(answers.every((a) => (a.at - 7000) % 15_000 === 0))
    assert.equal(answers[0]?.at, 7000)
    // The 5 set at 19 s was scraped at 23 s: the sync at 22 s still saw 1. Without spec.behavior (the shipped
    // ScaledObject sets none), a scale-up is capped at max(2 × current, 4), and a recommendation counts for 300 s
    // from its own sync inclusive: the last 5, at 97 s, still holds at 397 s.
    assert.deepEqual(changes, [
      { at: 37_000, replicas: 4 },
      { at: 52_000, replicas: 5 },
      { at: 412_000, replicas: 2 },
    ])
  })
})

describe('controllers', () => {
  test('the CPU HPA scales up on the first sync after metrics-server has two scrapes of a busy pod, not before', () => {
    const phases = { hpaSyncMs: 1000, metricsScrapeMs: 2000, prometheusScrapeMs: 0 }
    // Syncs at 1, 16, 31 s; scrapes at 2, 17 s. The pod uses its whole 1-core request.
    const { answers } = drive(hpaCpuController(0.7, 1, { minReplicas: 1, maxReplicas: 10 }, phases), 31_000, (now) => ({
      pods: [{ name: 'p0', phase: 'ready', startedAt: 0, readyAt: 0, cpuSeconds: now / 1000 }],
      gauges: { desiredReplicas: 1, inSystem: 0 },
    }))
    assert.deepEqual(answers, [{ at: 31_000, replicas: 2 }]) // ratio 1 / 0.7 = 1.43 → ceil(1.43) = 2
  })

  test('a fixed controller never changes anything; the custom one follows the gauge within bounds', () => {
    const fixed = fixedController(3)
    assert.equal(fixed.initialReplicas, 3)
    const custom = customController({ minReplicas: 2, maxReplicas: 8 })
    assert.equal(custom.initialReplicas, 2)
    const state = (now: number, desiredReplicas: number): ClusterState => ({
      now,
      specReplicas: 3,
      pods: readyPods(3),
      gauges: { desiredReplicas, inSystem: 100 },
    })
    for (const [now, desired, expected] of [
      [0, 5, 5],
      [1000, 0, 2],
      [2000, 50, 8],
      [15_000, 4.6, 5],
    ] as const) {
      assert.equal(fixed.tick(state(now, desired)), undefined)
      assert.equal(custom.tick(state(now, desired)), expected)
    }
  })
})
