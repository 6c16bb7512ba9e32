/**
 * `npm run simulate` — every scaling policy on the same workload, in a discrete-event simulation: custom (the
 * gateway's own autoscaler), HPA at 70 % and 90 % CPU, KEDA (the shipped ScaledObject, and on the queue), and a
 * right-sized fixed replica count. The controllers are the ones real runs use (simulator/src/controllers). Replica
 * service times come from a measured distribution (npm run bench:service-time). Prints a table per arrival scale
 * (seed 1, then the mean and range over --seeds) and writes results.json and report.html.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { comparePolicies, meetsTarget, rightSizedFixed, summarizeSeeds, wholeCoreScenario } from './compare.ts'
import { resultsTable, type ScaleRun, seedTable, simulationHtml } from './report.ts'
import { readServiceTime } from './service-time.ts'
import { simulateSpec } from './simulate-config.ts'

const config = configFromCommandLine('simulate', simulateSpec)

const base = dataOrExit(() => readWorkload(config.workload))
const serviceTime = dataOrExit(() => readServiceTime(config.serviceTime))
const startupDelayMs = (config.startupS ?? (serviceTime.startup_ms ?? 5000) / 1000) * 1000
console.log(
  `${config.workload}: ${base.length} s, ${base.reduce((a, b) => a + b, 0)} requests; service time mean ${serviceTime.mean_ms} ms ` +
    `(p99 ${serviceTime.p99_ms} ms, ${serviceTime.samples} samples: ${serviceTime.source}); start-up ${(startupDelayMs / 1000).toFixed(1)} s; ` +
    `custom's standbys ${config.standby} (promotion ${config.resizeDelayMs} ms, ${config.standbyCores} cores while waiting)\n`,
)
const runs: ScaleRun[] = []
const seeds = Array.from({ length: config.seeds }, (_, i) => config.seed + i)
for (const scale of config.scales) {
  const started = performance.now()
  const workload = base.map((v) => Math.round(v * scale))
  const scenario = {
    ...wholeCoreScenario(workload, serviceTime, startupDelayMs, config.sloMs),
    seed: config.seed,
    policies: config.policies,
    ...(config.brownout !== undefined && { brownout: { serviceRatio: config.brownout } }),
    standby: config.standby,
    standbyModel: { resizeDelayMs: config.resizeDelayMs, standbyCores: config.standbyCores },
    scaleToZero: config.scaleToZero,
  }
  // One fixed count for every seed: a capacity plan cannot know the arrivals.
  const fixedReplicas = config.policies.includes('fixed') ? rightSizedFixed(scenario, seeds) : undefined
  const perSeed = seeds.map((seed) => comparePolicies({ ...scenario, seed, fixedReplicas }))
  const results = perSeed[0]!
  const summaries = summarizeSeeds(perSeed)
  runs.push({ scale, startupDelayMs, results, seeds: summaries })
  // Cost as requested core-seconds (a waiting standby at its small request; whole-core pods otherwise, so the same as
  // replica-seconds without standbys); the node-free figure is in the tables beside.
  const target = meetsTarget(results.map((r) => ({ ...r, replicaSeconds: r.requestedCoreSeconds })))
  const meanTarget = meetsTarget(
    summaries.map((s) => ({
      ...s,
      slowShare: s.slowShare.mean,
      replicaSeconds: (s.requestedCoreSeconds ?? s.replicaSeconds).mean,
    })),
  )
  console.log(
    `arrivals ×${scale} (${workload.reduce((a, b) => a + b, 0)} requests, ${((performance.now() - started) / 1000).toFixed(1)} s to simulate), seed ${config.seed}:`,
  )
  console.log(resultsTable(results))
  if (seeds.length > 1) {
    console.log(`\nmean [range] over seeds ${seeds[0]}–${seeds.at(-1)}:`)
    console.log(seedTable(summaries))
  }
  if (Number.isFinite(target.costRatio)) {
    console.log(
      `target (custom ≤ 1/10 of HPA-70's share over ${config.sloMs} ms, requested core-seconds ≤ HPA-70's): ` +
        `seed ${config.seed} ${target.met ? 'met' : 'NOT met'} (slow share ratio ${target.slowRatio.toFixed(3)}, requested core-seconds ratio ${target.costRatio.toFixed(2)}); ` +
        `mean over seeds ${meanTarget.met ? 'met' : 'NOT met'} (${meanTarget.slowRatio.toFixed(3)}, ${meanTarget.costRatio.toFixed(2)})\n`,
    )
  }
}
mkdirSync(config.out, { recursive: true })
const summary = runs.map((run) => ({ ...run, results: run.results.map(({ timeline, ...rest }) => rest) }))
writeFileSync(
  join(config.out, 'results.json'),
  `${JSON.stringify({ workload: config.workload, serviceTime, runs: summary }, null, 2)}\n`,
)
writeFileSync(
  join(config.out, 'report.html'),
  simulationHtml(
    'Switchyard autoscaling simulation',
    `${config.workload}, service time mean ${serviceTime.mean_ms} ms (${serviceTime.source}), seed ${config.seed}`,
    runs,
    config.sloMs,
  ),
)
console.log(`written to ${config.out}/results.json and ${config.out}/report.html`)
