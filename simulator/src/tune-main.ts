/**
 * `npm run tune` — tunes the custom policy's knobs (the M/G/c wait-tail share and the utilisation ceiling, the short
 * and long windows, scale-down stabilisation and start-up hold, trend gain, the short window's noise margin) on
 * training workloads only,
 * then judges the best and the shipped defaults on workloads the tuning never saw: workload/workload.txt (×1 and
 * ×10) and the held-out families. Each candidate is scored against HPA-70 on every training scenario (workload ×
 * start-up): targets met (≤ 1/10 of HPA-70's violations at ≤ its replica-seconds), then the mean shortfall, then
 * the mean replica-seconds against HPA-70's (cost-aware: of two candidates that miss alike, the cheaper wins).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import {
  type Family,
  HELD_OUT_FAMILIES,
  TRAINING_FAMILIES,
  trainingWorkload,
} from '../../loadtester/src/training-workloads.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { CUSTOM_DEFAULTS, type CustomSettings, type Scenario, wholeCoreScenario } from './compare.ts'
import { formatShare } from './report.ts'
import { MEASURED_SERVICE_TIME, readServiceTime } from './service-time.ts'
import { tuneSpec } from './tune-config.ts'
import { customOutcome, hpaBaseline, type Matchup, meetsTarget, rankCandidates } from './tuning.ts'

const config = configFromCommandLine('tune', tuneSpec)
const serviceTime = dataOrExit(() => readServiceTime(MEASURED_SERVICE_TIME))
const canonical = dataOrExit(() => readWorkload('workload/workload.txt'))
const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i)

interface Case {
  label: string
  scenario: Scenario
}
const casesOf = (workloads: { label: string; values: number[] }[]): Case[] =>
  workloads.flatMap(({ label, values }) =>
    config.startupS.map((s) => ({
      label: `${label} @${s}s`,
      scenario: wholeCoreScenario(values, serviceTime, s * 1000, 500),
    })),
  )
const matchups = (cases: Case[], seeds: number[], settings: CustomSettings, hpa: Matchup['hpa'][]): Matchup[] =>
  cases.map((c, i) => ({ label: c.label, custom: customOutcome(c.scenario, seeds, settings), hpa: hpa[i]! }))

const training = casesOf(
  TRAINING_FAMILIES.flatMap((family) =>
    range(config.workloadSeeds).flatMap((seed) =>
      config.scales.map((scale) => ({
        label: `${family}#${seed} ×${scale}`,
        values: trainingWorkload(family, seed).map((v) => Math.round(v * scale)),
      })),
    ),
  ),
)
const trainSeeds = range(config.seeds)
const started = performance.now()
const trainingHpa = training.map((c) => hpaBaseline(c.scenario, trainSeeds))
/** Every combination of the grids: the knobs the tuner may change (the rest are the gateway's defaults). */
const grid = {
  trendGain: config.trendGains,
  targetUtilization: config.utilisations,
  waitTailShare: config.tailShares,
  burstNoiseZ: config.noiseZs,
  shortWindowS: config.shortWindows,
  longWindowS: config.longWindows,
  scaleDownStabilizationS: config.stabilisations,
  scaleDownStartups: config.startupHolds,
}
type Knob = keyof typeof grid
const knobs = Object.keys(grid) as Knob[]
const candidates = knobs.reduce<Record<Knob, number>[]>(
  (partial, knob) => partial.flatMap((c) => grid[knob].map((value) => ({ ...c, [knob]: value }))),
  [{} as Record<Knob, number>],
)
const results = candidates.map((candidate) => ({
  candidate,
  matchups: matchups(training, trainSeeds, candidate, trainingHpa),
}))
const ranked = rankCandidates(results)
console.log(
  `training: ${TRAINING_FAMILIES.join(', ')} × ${config.workloadSeeds} workloads × scales ${config.scales.join(', ')} × start-ups ${config.startupS.join(', ')} s = ${training.length} scenarios, ` +
    `${trainSeeds.length} seeds each, ${candidates.length} candidates (${((performance.now() - started) / 1000).toFixed(0)} s)`,
)
console.log(
  `${knobs.map((k) => k.padStart(k.length)).join(' ')} ${'targets met'.padStart(12)} ${'mean shortfall'.padStart(15)} ${'mean cost ratio'.padStart(16)}`,
)
for (const r of ranked)
  console.log(
    `${knobs.map((k) => String(r.candidate[k]).padStart(k.length)).join(' ')} ${`${r.met}/${training.length}`.padStart(12)} ${r.meanShortfall.toFixed(3).padStart(15)} ${r.meanCostRatio.toFixed(3).padStart(16)}`,
  )
const best = ranked[0]!.candidate
const shipped = Object.fromEntries(knobs.map((k) => [k, CUSTOM_DEFAULTS[k]])) as Record<Knob, number>
console.log(`\nbest on training: ${JSON.stringify(best)}; shipped defaults: ${JSON.stringify(shipped)}\n`)

const heldOut = HELD_OUT_FAMILIES.flatMap((family: Family) =>
  [101, 102].map((seed) => ({ label: `${family}#${seed}`, values: trainingWorkload(family, seed) })),
)
const judging = casesOf([
  { label: 'workload.txt ×1', values: canonical },
  { label: 'workload.txt ×10', values: canonical.map((v) => v * 10) },
  ...heldOut,
])
const judgeSeeds = range(config.judgeSeeds)
const judgingHpa = judging.map((c) => hpaBaseline(c.scenario, judgeSeeds))
const pct = formatShare
const judged = [
  { name: 'shipped defaults', settings: shipped },
  { name: 'best on training', settings: best },
].map(({ name, settings }) => {
  const rows = matchups(judging, judgeSeeds, settings, judgingHpa)
  console.log(`judging (${judgeSeeds.length} seeds each), ${name} ${JSON.stringify(settings)}:`)
  console.log(
    `${'scenario'.padEnd(26)} ${'custom over SLO'.padStart(15)} ${'hpa-70'.padStart(9)} ${'custom replica-s'.padStart(17)} ${'hpa-70'.padStart(8)}  target`,
  )
  for (const m of rows)
    console.log(
      `${m.label.padEnd(26)} ${pct(m.custom.slowShare).padStart(15)} ${pct(m.hpa.slowShare).padStart(9)} ${m.custom.replicaSeconds.toFixed(0).padStart(17)} ${m.hpa.replicaSeconds.toFixed(0).padStart(8)}  ${meetsTarget(m) ? 'met' : 'NOT met'}`,
    )
  console.log(`${rows.filter(meetsTarget).length}/${rows.length} met\n`)
  return { name, settings, rows }
})
mkdirSync(config.out, { recursive: true })
writeFileSync(join(config.out, 'tune.json'), `${JSON.stringify({ training: ranked, best, judged }, null, 2)}\n`)
console.log(`written to ${config.out}/tune.json`)
