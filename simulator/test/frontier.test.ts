import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { HELD_OUT_FAMILIES, TRAINING_FAMILIES, trainingWorkload } from '../../loadtester/src/training-workloads.ts'
import { type Scenario, simulateController, WHOLE_CORE } from '../src/compare.ts'
import { clairvoyantController, replicasNeeded } from '../src/controllers/clairvoyant.ts'
import { costOverClairvoyant, dominates, dominatingBaselines, type FrontierPoint, sweep } from '../src/frontier.ts'
import { attainmentLabel, frontierSvg } from '../src/frontier-svg.ts'
import type { ServiceTimeModel } from '../src/service-time.ts'
import { type Matchup, meetsTarget, rankCandidates, shortfall } from '../src/tuning.ts'

const serviceTime: ServiceTimeModel = {
  source: 'test',
  measured_at: '2026-12-02T00:00:00.000Z',
  samples: 101,
  mean_ms: 100,
  p50_ms: 100,
  p99_ms: 100,
  quantiles_ms: Array(101).fill(100),
}
const bounds = { minReplicas: 1, maxReplicas: 20 }

describe('the clairvoyant reference', () => {
  test('sizes each second at the utilisation, contention included', () => {
    const options = { workload: [], serviceMs: 100, leadMs: 0, utilisation: 0.8, bounds }
    assert.equal(replicasNeeded(8, options), 1)
    assert.equal(replicasNeeded(8.1, options), 2)
    assert.equal(replicasNeeded(30, options), 4)
    assert.equal(
      replicasNeeded(30, { ...options, contention: [1, 1, 1, 1.5] }),
      6,
      'from 4 on ×1.5: 4.5 busy slots at 80 %',
    )
    assert.equal(replicasNeeded(1e6, options), 20, 'never above the bounds')
  })

  test('orders each pod one start-up ahead of the second that needs it, and holds it while any second within one needs it', () => {
    // 10 s at 5 req/s, 10 s at 30, 10 s at 5; pods take 4 s.
    const workload = [...Array(10).fill(5), ...Array(10).fill(30), ...Array(10).fill(5)]
    const controller = clairvoyantController({ workload, serviceMs: 100, leadMs: 4000, utilisation: 0.8, bounds })
    const at = (second: number) =>
      controller.tick({ now: second * 1000, specReplicas: 1, pods: [], gauges: { desiredReplicas: 0, inSystem: 0 } })
    assert.equal(controller.initialReplicas, 1)
    assert.equal(at(5), 1)
    assert.equal(at(6), 4, 'ordered 4 s before second 10')
    assert.equal(at(19), 4)
    assert.equal(at(20), 1)
  })

  test('on a step it meets the SLO that a start-up of 10 s makes every reactive policy miss', () => {
    const workload = [...Array(60).fill(4), ...Array(60).fill(30)]
    const scenario: Scenario = {
      workload,
      serviceTime,
      startup: { provisioningMs: 0, bootMs: [10_000] },
      cpu: WHOLE_CORE,
      sloMs: 500,
      seed: 1,
      maxReplicas: 20,
    }
    const leadMs = 10_000
    const clairvoyant = clairvoyantController({ workload, serviceMs: 100, leadMs, utilisation: 0.8, bounds })
    const result = simulateController(clairvoyant, scenario)
    assert.ok(result.slowShare < 0.01, `${result.slowShare}`)
  })
})

const point = (family: FrontierPoint['family'], knob: number, slow: number, cost: number): FrontierPoint => ({
  family,
  knob,
  isDefault: false,
  slowShare: { mean: slow, min: slow, max: slow },
  replicaSeconds: { mean: cost, min: cost, max: cost },
  requestedCoreSeconds: { mean: cost, min: cost, max: cost },
  nodeCoreSeconds: { mean: cost, min: cost, max: cost },
})

describe('the cost–SLO plane', () => {
  test('dominance is strict on both axes: never of a point over itself, never both ways (property)', () => {
    assert.equal(dominates({ slowShare: 0.1, replicaSeconds: 10 }, { slowShare: 0.2, replicaSeconds: 20 }), true)
    assert.equal(dominates({ slowShare: 0.1, replicaSeconds: 20 }, { slowShare: 0.2, replicaSeconds: 20 }), false)
    const plane = fc.record({
      slowShare: fc.double({ min: 0, max: 1, noNaN: true }),
      replicaSeconds: fc.integer({ min: 1, max: 1000 }),
    })
    fc.assert(
      fc.property(plane, plane, (a, b) => {
        assert.equal(dominates(a, a), false)
        assert.ok(!(dominates(a, b) && dominates(b, a)))
      }),
    )
  })

  test('custom is judged against baselines only, and against the cheapest clairvoyant point at its attainment', () => {
    const custom = point('custom', 70, 0.02, 120)
    const points = [
      custom,
      point('hpa', 50, 0.01, 110),
      point('fixed', 3, 0.03, 100),
      point('clairvoyant', 80, 0.005, 100),
      point('clairvoyant', 90, 0.02, 80),
      point('custom', 60, 0.001, 100),
    ]
    assert.deepEqual(
      dominatingBaselines(custom, points).map((p) => `${p.family} ${p.knob}`),
      ['hpa 50'],
    )
    // Custom misses 2 %: a clairvoyant point missing as much is a fair comparison.
    assert.ok(Math.abs(costOverClairvoyant(custom, points)! - 0.5) < 1e-9)
    // Custom within the 99.5 % target: only clairvoyant points meeting the target count.
    const good = point('custom', 2, 0.001, 120)
    assert.ok(Math.abs(costOverClairvoyant(good, points)! - 0.2) < 1e-9)
    assert.equal(costOverClairvoyant(good, [point('clairvoyant', 90, 0.02, 80)]), undefined)
  })

  test('the sweep spans every family over its knob, one shipped default each', () => {
    const scenario: Scenario = {
      workload: Array(30).fill(20),
      serviceTime,
      startup: { provisioningMs: 0, bootMs: [1000] },
      cpu: WHOLE_CORE,
      sloMs: 500,
      seed: 1,
    }
    const configurations = sweep(scenario, 4)
    for (const family of ['custom', 'hpa', 'keda', 'keda-queue', 'fixed', 'clairvoyant'] as const) {
      const own = configurations.filter((c) => c.family === family)
      assert.ok(own.length >= 3, family)
      assert.equal(own.filter((c) => c.isDefault).length, 1, family)
    }
    assert.deepEqual(
      configurations.filter((c) => c.family === 'hpa').map((c) => c.knob),
      [20, 30, 40, 50, 60, 70, 80, 90],
    )
    assert.deepEqual(
      configurations.filter((c) => c.family === 'fixed').map((c) => c.knob),
      [2, 3, 4, 5, 6],
    )
  })

  test('the picture has a marker per point and a legend per family, and escapes its title', () => {
    const points = [point('custom', 70, 0.02, 120), point('hpa', 70, 0, 100), point('hpa', 50, 0.5, 90)]
    const svg = frontierSvg(points, 'a <title>')
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.equal(svg.match(/<circle /g)?.length, points.length + 2, 'a marker per point, a legend dot per family')
    assert.match(svg, /a &lt;title&gt;/)
    assert.doesNotMatch(svg, /NaN|Infinity/)
    assert.match(svg, /target 99\.5 %/, 'the target line names the 99.5 % it stands for')
  })

  test('attainment labels keep the decimals their misses need', () => {
    assert.deepEqual([100, 10, 1, 0.5, 0.1, 0.01].map(attainmentLabel), [
      '0 %',
      '90 %',
      '99 %',
      '99.5 %',
      '99.9 %',
      '99.99 %',
    ])
  })
})

describe('training and judging workloads', () => {
  test('each family gives 600 s at the canonical scale, the same for a seed and different across seeds', () => {
    for (const family of [...TRAINING_FAMILIES, ...HELD_OUT_FAMILIES]) {
      const a = trainingWorkload(family, 1)
      assert.equal(a.length, 600, family)
      assert.deepEqual(trainingWorkload(family, 1), a, family)
      assert.notDeepEqual(trainingWorkload(family, 2), a, family)
      assert.ok(Math.min(...a) >= 4 && Math.max(...a) <= 72, `${family}: ${Math.min(...a)}–${Math.max(...a)}`)
      assert.ok(Math.max(...a) >= 2 * Math.min(...a), `${family} has a busy part`)
    }
    assert.equal(TRAINING_FAMILIES.filter((f) => (HELD_OUT_FAMILIES as readonly string[]).includes(f)).length, 0)
  })
})

describe('tuning', () => {
  const matchup = (slow: number, cost: number): Matchup => ({
    label: 'x',
    custom: { slowShare: slow, replicaSeconds: cost },
    hpa: { slowShare: 0.1, replicaSeconds: 100 },
  })

  test('the target is ≤ 1/10 of HPA-70’s violations at ≤ its cost; the shortfall is 0 exactly when it is met', () => {
    assert.equal(meetsTarget(matchup(0.01, 100)), true)
    assert.equal(meetsTarget(matchup(0.011, 100)), false)
    assert.equal(meetsTarget(matchup(0.01, 101)), false)
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 300 }), (slow, cost) => {
        const m = matchup(slow, cost)
        assert.equal(shortfall(m) === 0, meetsTarget(m))
      }),
    )
  })

  test('candidates rank by targets met, then by the mean shortfall', () => {
    const ranked = rankCandidates([
      { candidate: 'a', matchups: [matchup(0.05, 90), matchup(0.01, 90)] },
      { candidate: 'b', matchups: [matchup(0.01, 90), matchup(0.01, 90)] },
      { candidate: 'c', matchups: [matchup(0.02, 90), matchup(0.01, 90)] },
    ])
    assert.deepEqual(
      ranked.map((r) => [r.candidate, r.met]),
      [
        ['b', 2],
        ['c', 1],
        ['a', 1],
      ],
    )
  })

  test('of candidates that meet as many and miss by about as much, the cheaper ranks first (cost-aware)', () => {
    const ranked = rankCandidates([
      { candidate: 'dear', matchups: [matchup(0.01, 100), matchup(0.05, 95)] },
      { candidate: 'cheap', matchups: [matchup(0.01, 80), matchup(0.05, 70)] },
      { candidate: 'closer', matchups: [matchup(0.01, 100), matchup(0.02, 100)] },
    ])
    assert.deepEqual(
      ranked.map((r) => r.candidate),
      ['closer', 'cheap', 'dear'],
      'a clearly smaller shortfall still wins; within a step, cost decides',
    )
    assert.ok(Math.abs(ranked[1]!.meanCostRatio - 0.75) < 1e-12)
  })
})
