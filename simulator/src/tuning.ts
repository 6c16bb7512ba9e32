import { bounds, type CustomSettings, controllerPhases, type Scenario, simulateController } from './compare.ts'
import { customController, hpaCpuController } from './controllers/baselines.ts'

/** Custom against HPA-70 on one scenario: the means over its seeds. */
export interface Matchup {
  label: string
  custom: { slowShare: number; replicaSeconds: number }
  hpa: { slowShare: number; replicaSeconds: number }
}

/** The project's target on one matchup: ≤ 1/10 of HPA-70's violations at ≤ its replica-seconds. */
export function meetsTarget(m: Matchup): boolean {
  return m.custom.slowShare <= 0.1 * m.hpa.slowShare && m.custom.replicaSeconds <= m.hpa.replicaSeconds
}

/**
 * How far a matchup is from the target, 0 when met: the excess violation ratio over 1/10 plus the excess cost
 * ratio over 1 (an HPA with no violations asks custom for none either).
 */
export function shortfall(m: Matchup): number {
  const slowRatio = m.hpa.slowShare === 0 ? (m.custom.slowShare === 0 ? 0 : 10) : m.custom.slowShare / m.hpa.slowShare
  return Math.max(0, slowRatio - 0.1) + Math.max(0, m.custom.replicaSeconds / m.hpa.replicaSeconds - 1)
}

export interface Ranked<T> {
  candidate: T
  met: number
  meanShortfall: number
}

/** Candidates by targets met (most first), then by mean shortfall (least first). Pure. */
export function rankCandidates<T>(results: readonly { candidate: T; matchups: readonly Matchup[] }[]): Ranked<T>[] {
  return results
    .map(({ candidate, matchups }) => ({
      candidate,
      met: matchups.filter(meetsTarget).length,
      meanShortfall: matchups.reduce((a, m) => a + shortfall(m), 0) / Math.max(1, matchups.length),
    }))
    .sort((a, b) => b.met - a.met || a.meanShortfall - b.meanShortfall)
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length

/** HPA-70's means over `seeds` on a scenario (computed once, shared by every candidate). */
export function hpaBaseline(scenario: Scenario, seeds: readonly number[]) {
  const runs = seeds.map((seed) => {
    const seeded = { ...scenario, seed }
    const controller = hpaCpuController(0.7, seeded.cpu.limitCores, bounds(seeded), controllerPhases(seed))
    return simulateController(controller, seeded)
  })
  return { slowShare: mean(runs.map((r) => r.slowShare)), replicaSeconds: mean(runs.map((r) => r.replicaSeconds)) }
}

/** Custom with `settings`, means over `seeds` on a scenario. */
export function customOutcome(scenario: Scenario, seeds: readonly number[], settings: CustomSettings) {
  const runs = seeds.map((seed) => {
    const seeded = { ...scenario, seed }
    return simulateController(customController(bounds(seeded)), seeded, settings)
  })
  return { slowShare: mean(runs.map((r) => r.slowShare)), replicaSeconds: mean(runs.map((r) => r.replicaSeconds)) }
}
