import {
  acrossSeeds,
  bounds,
  type CustomSettings,
  controllerPhases,
  meansOf,
  type Outcome,
  type Scenario,
  targetAgainstHpa,
} from './compare.ts'
import { customController, hpaCpuController } from './controllers/baselines.ts'

/** Custom against HPA-70 on one scenario: the means over its seeds. */
export interface Matchup {
  label: string
  custom: Outcome
  hpa: Outcome
}

/** The project's target on one matchup: ≤ 1/10 of HPA-70's violations at ≤ its replica-seconds. */
export const meetsTarget = (m: Matchup): boolean => targetAgainstHpa(m.custom, m.hpa).met

/**
 * How far a matchup is from the target, 0 when met: the excess violation ratio over 1/10 plus the excess cost
 * ratio over 1 (an HPA with no violations asks custom for none either).
 */
export function shortfall(m: Matchup): number {
  const { slowRatio, costRatio } = targetAgainstHpa(m.custom, m.hpa)
  // Violations where HPA-70 had none count as ten times too many: finite, so candidates can still be ranked.
  return Math.max(0, (Number.isFinite(slowRatio) ? slowRatio : 10) - 0.1) + Math.max(0, costRatio - 1)
}

export interface Ranked<T> {
  candidate: T
  met: number
  meanShortfall: number
  /** Mean of custom's replica-seconds over HPA-70's: what the candidate pays, met or not. */
  meanCostRatio: number
}

/** Shortfalls are compared in steps of this: within one step the cheaper candidate wins. */
const SHORTFALL_STEP = 0.01

/**
 * Candidates by targets met (most first), then by mean shortfall (least first), then by mean cost ratio (least
 * first): among candidates that miss the same targets by about as much, the one that pays fewer replica-seconds.
 * Pure.
 */
export function rankCandidates<T>(results: readonly { candidate: T; matchups: readonly Matchup[] }[]): Ranked<T>[] {
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
  return results
    .map(({ candidate, matchups }) => ({
      candidate,
      met: matchups.filter(meetsTarget).length,
      meanShortfall: mean(matchups.map(shortfall)),
      meanCostRatio: mean(matchups.map((m) => m.custom.replicaSeconds / m.hpa.replicaSeconds)),
    }))
    .sort(
      (a, b) =>
        b.met - a.met ||
        Math.round(a.meanShortfall / SHORTFALL_STEP) - Math.round(b.meanShortfall / SHORTFALL_STEP) ||
        a.meanCostRatio - b.meanCostRatio,
    )
}

/** HPA-70's means over `seeds` on a scenario (computed once, shared by every candidate). */
export const hpaBaseline = (scenario: Scenario, seeds: readonly number[]): Outcome =>
  meansOf(
    acrossSeeds(scenario, seeds, (s) => hpaCpuController(0.7, s.cpu.limitCores, bounds(s), controllerPhases(s.seed))),
  )

/** Custom with `settings`, means over `seeds` on a scenario. */
export const customOutcome = (scenario: Scenario, seeds: readonly number[], settings: CustomSettings): Outcome =>
  meansOf(acrossSeeds(scenario, seeds, (s) => customController(bounds(s)), settings))
