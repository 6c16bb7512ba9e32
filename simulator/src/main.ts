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
import { parse, setting } from '../../common/config.ts'
import { parseStandbySetting } from '../../gateway/src/autoscale/standby-count.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import {
  comparePolicies,
  DEFAULT_STANDBY,
  meetsTarget,
  POLICY_NAMES,
  rightSizedFixed,
  SELECTABLE_POLICY_NAMES,
  summarizeSeeds,
  wholeCoreScenario,
} from './compare.ts'
import { resultsTable, type ScaleRun, seedTable, simulationHtml } from './report.ts'
import { MEASURED_SERVICE_TIME, readServiceTime } from './service-time.ts'
import { DEFAULT_STANDBY_MODEL } from './simulation.ts'

const spec = {
  workload: setting({
    env: 'SIM_WORKLOAD',
    flag: 'workload',
    description: 'Workload file',
    parse: parse.string(),
    default: 'workload/workload.txt',
  }),
  scales: setting({
    env: 'SIM_SCALES',
    flag: 'scales',
    description: 'Arrival-rate multipliers to simulate, comma-separated',
    parse: parse.list(parse.number({ min: 0.001, max: 100_000 })),
    default: [1, 10, 100],
  }),
  serviceTime: setting({
    env: 'SIM_SERVICE_TIME',
    flag: 'service-time',
    description: 'Measured service-time model (JSON)',
    parse: parse.string(),
    default: MEASURED_SERVICE_TIME,
  }),
  startupS: setting<number | undefined>({
    env: 'SIM_STARTUP_S',
    flag: 'startup-s',
    description: 'Replica start-up, decision to ready (default: the measured one in the service-time file)',
    parse: parse.number({ min: 0, max: 3600 }),
    default: undefined,
  }),
  seeds: setting({
    env: 'SIM_SEEDS',
    flag: 'seeds',
    description: 'Also run seeds seed … seed + N − 1 and print the mean and range over them',
    parse: parse.integer({ min: 1, max: 1000 }),
    default: 5,
  }),
  policies: setting({
    env: 'SIM_POLICIES',
    flag: 'policies',
    description: `Policies to compare: ${SELECTABLE_POLICY_NAMES.join(', ')}`,
    parse: parse.list(parse.oneOf(SELECTABLE_POLICY_NAMES)),
    default: [...POLICY_NAMES],
  }),
  sloMs: setting({
    env: 'SIM_SLO_MS',
    flag: 'slo-ms',
    description: 'Latency objective',
    parse: parse.integer({ min: 1 }),
    default: 500,
  }),
  standby: setting({
    env: 'SIM_STANDBY',
    flag: 'standby',
    description:
      "custom's warm standbys, promoted by an in-place resize: auto (sized from the bursts seen), off, or a count (the gateway's STANDBY)",
    parse: parseStandbySetting,
    default: DEFAULT_STANDBY,
  }),
  resizeDelayMs: setting({
    env: 'SIM_RESIZE_DELAY_MS',
    flag: 'resize-delay-ms',
    description: "From promoting a standby to its serving at full CPU (the kubelet's in-place resize)",
    parse: parse.integer({ min: 0, max: 600_000 }),
    default: DEFAULT_STANDBY_MODEL.resizeDelayMs,
  }),
  standbyCores: setting({
    env: 'SIM_STANDBY_CORES',
    flag: 'standby-cores',
    description: "A standby's CPU request while it waits, cores (counted in the requested cost)",
    parse: parse.number({ min: 0, max: 64 }),
    default: DEFAULT_STANDBY_MODEL.standbyCores,
  }),
  scaleToZero: setting({
    env: 'SIM_SCALE_TO_ZERO',
    flag: 'scale-to-zero',
    description:
      "custom may scale to zero (the gateway's MIN_REPLICAS=0): requests wait while a standby is promoted or a pod starts",
    parse: parse.boolean(),
    default: false,
  }),
  seed: setting({
    env: 'SIM_SEED',
    flag: 'seed',
    description: 'Seed of the arrivals and service times',
    parse: parse.integer({ min: 0 }),
    default: 1,
  }),
  brownout: setting<number | undefined>({
    env: 'SIM_BROWNOUT',
    flag: 'brownout',
    description:
      "Brownout for the custom policy: a fallback whose service time is this share of the model's (e.g. 0.4) answers what the model would not in time; unset: off",
    parse: parse.number({ min: 0.01, max: 1 }),
    default: undefined,
  }),
  out: setting({
    env: 'SIM_OUT',
    flag: 'out',
    description: 'Output directory',
    parse: parse.string(),
    default: 'out/simulate',
  }),
}

const config = configFromCommandLine('simulate', spec)

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
