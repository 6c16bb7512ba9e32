/**
 * `npm run experiment` — every scaling policy for real, on this machine, and the simulator's prediction of each,
 * made before the runs. Replicas run as pods would: each in a cgroup with a CPU quota (its limit = its request) and
 * created after a provisioning delay (a stand-in for scheduling and image pull). The HPA and KEDA controllers are
 * the simulator's own (simulator/src/controllers), fed with the pods' cgroup CPU and the gateway's gauges.
 *
 * 1. Calibrate: boot replicas and drive them through a gateway (service time at the limit, contention, CPU).
 * 2. Predict: simulate every policy on that calibration over several seeds; written before any real run.
 * 3. Run: each policy for real on the same workload, custom and HPA-70 repeated; then the tables and one page.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { parse, setting } from '../../common/config.ts'
import { writeStateFile } from '../../common/model-registry/state-file.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { parseStandbySetting } from '../../gateway/src/autoscale/standby-count.ts'
import { defaultImagesDir, loadImages } from '../../loadtester/src/images.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { compressWorkload } from '../../loadtester/src/workload-shapes.ts'
import { replicaConfigSpec } from '../../replica/src/config.ts'
import {
  CLIENT_TIMEOUT_MS,
  comparePolicies,
  configuredStartupS,
  DEFAULT_STANDBY,
  DEFAULT_STANDBY_MODEL,
  makeController,
  POLICY_NAMES,
  type PolicyName,
  rightSizedFixed,
  type Scenario,
  SELECTABLE_POLICY_NAMES,
  summarizeSeeds,
} from '../../simulator/src/compare.ts'
import { seedTable } from '../../simulator/src/report.ts'
import type { BootBoost } from './boot-boost.ts'
import { runRegistryState } from './brownout-state.ts'
import { type Calibration, calibrate } from './capacity-probe.ts'
import { cgroupUnavailableReason, removeStaleGroups } from './cgroup.ts'
import { costTable } from './cost-table.ts'
import { runReal } from './real-run.ts'
import { experimentHtml } from './report-html.ts'
import { type PolicyOutcome, predictionTable, realTable, startupTable } from './tables.ts'

const spec = {
  workload: setting({
    env: 'EXPERIMENT_WORKLOAD',
    flag: 'workload',
    description: 'Workload file (the canonical one, compressed and scaled to this machine)',
    parse: parse.string(),
    default: 'workload/workload.txt',
  }),
  compress: setting({
    env: 'EXPERIMENT_COMPRESS',
    flag: 'compress',
    description: 'Seconds of the workload per second of the run (their mean rate)',
    parse: parse.integer({ min: 1, max: 100 }),
    default: 3,
  }),
  utilisationAtPeak: setting({
    env: 'EXPERIMENT_PEAK_UTILISATION',
    flag: 'peak-utilisation',
    description: 'Rates are scaled so the peak needs this share of --max-replicas at the calibrated service time',
    parse: parse.number({ min: 0.05, max: 2 }),
    default: 0.8,
  }),
  cores: setting({
    env: 'EXPERIMENT_CORES',
    flag: 'cores',
    description: 'CPU limit (= request) of each replica, cores',
    parse: parse.number({ min: 0.05, max: 64 }),
    default: 0.6,
  }),
  bootBoost: setting({
    env: 'EXPERIMENT_BOOT_BOOST',
    flag: 'boot-boost',
    description:
      "Start-up CPU boost (Kubernetes' in-place resize, kube-startup-cpu-boost): pods boot at --boot-cores and are lowered to --cores once ready",
    parse: parse.boolean(),
    default: true,
  }),
  bootCores: setting({
    env: 'EXPERIMENT_BOOT_CORES',
    flag: 'boot-cores',
    description: 'CPU limit of a booting pod with --boot-boost, cores',
    parse: parse.number({ min: 0.05, max: 64 }),
    default: 2,
  }),
  maxReplicas: setting({
    env: 'EXPERIMENT_MAX_REPLICAS',
    flag: 'max-replicas',
    description: 'Most replicas any policy may run (with --cores, within this machine beside gateway and load tester)',
    parse: parse.integer({ min: 1, max: 64 }),
    default: 3,
  }),
  provisioningS: setting({
    env: 'EXPERIMENT_PROVISIONING_S',
    flag: 'provisioning-s',
    description: 'Stand-in for scheduling and image pull: seconds a new pod waits before its process starts',
    parse: parse.number({ min: 0, max: 600 }),
    default: 10,
  }),
  standby: setting({
    env: 'EXPERIMENT_STANDBY',
    flag: 'standby',
    description:
      "custom's warm standbys (the gateway's STANDBY): booted pods held at --standby-cores, not routed to, promoted by raising their cgroup quota — auto, off or a count",
    parse: parseStandbySetting,
    default: DEFAULT_STANDBY,
  }),
  standbyCores: setting({
    env: 'EXPERIMENT_STANDBY_CORES',
    flag: 'standby-cores',
    description: "A waiting standby's CPU quota (its request), cores",
    parse: parse.number({ min: 0.01, max: 64 }),
    default: DEFAULT_STANDBY_MODEL.standbyCores,
  }),
  resizeDelayMs: setting({
    env: 'EXPERIMENT_RESIZE_DELAY_MS',
    flag: 'resize-delay-ms',
    description:
      "Stand-in for the kubelet's in-place resize: from promoting a standby to its quota raised and its listing, ms",
    parse: parse.integer({ min: 0, max: 600_000 }),
    default: DEFAULT_STANDBY_MODEL.resizeDelayMs,
  }),
  warmupS: setting({
    env: 'EXPERIMENT_WARMUP_S',
    flag: 'warmup-s',
    description:
      "Seconds at the workload's opening rate (its first 10 s's mean) played before it, unmeasured: every policy meets the workload from its own steady state, as a service already running would, not from one replica",
    parse: parse.integer({ min: 0, max: 3600 }),
    default: 30,
  }),
  repeats: setting({
    env: 'EXPERIMENT_REPEATS',
    flag: 'repeats',
    description: 'Real runs of custom and hpa-70 (the others run once)',
    parse: parse.integer({ min: 1, max: 20 }),
    default: 2,
  }),
  seeds: setting({
    env: 'EXPERIMENT_SEEDS',
    flag: 'seeds',
    description: 'Simulated seeds behind each prediction',
    parse: parse.integer({ min: 1, max: 1000 }),
    default: 5,
  }),
  policies: setting({
    env: 'EXPERIMENT_POLICIES',
    flag: 'policies',
    description: `Policies to run: ${SELECTABLE_POLICY_NAMES.join(', ')}`,
    parse: parse.list(parse.oneOf(SELECTABLE_POLICY_NAMES)),
    default: [...POLICY_NAMES],
  }),
  calibration: setting<string | undefined>({
    env: 'EXPERIMENT_CALIBRATION',
    flag: 'calibration',
    description: 'Reuse a calibration.json instead of measuring one',
    parse: parse.string(),
    default: undefined,
  }),
  sloMs: setting({
    env: 'EXPERIMENT_SLO_MS',
    flag: 'slo-ms',
    description: 'Latency objective',
    parse: parse.integer({ min: 1 }),
    default: 500,
  }),
  brownout: setting<string | undefined>({
    env: 'EXPERIMENT_BROWNOUT',
    flag: 'brownout',
    description:
      "Brownout for the custom policy: MODEL[@VERSION] (e.g. darknet-tiny) answers, degraded, what ResNet18 would not in time; set as its fallback in the run's registry state (the baselines run without). Unset: off",
    parse: parse.string(),
    default: undefined,
  }),
  brownoutServiceRatio: setting({
    env: 'EXPERIMENT_BROWNOUT_SERVICE_RATIO',
    flag: 'brownout-service-ratio',
    description:
      "With --brownout: the fallback's service time as a share of ResNet18's, for the simulator's prediction (the runs measure the real one)",
    parse: parse.number({ min: 0.01, max: 1 }),
    default: 0.5,
  }),
  modelsDir: replicaConfigSpec.modelsDir,
  out: setting({
    env: 'EXPERIMENT_OUT',
    flag: 'out',
    description: 'Output directory',
    parse: parse.string(),
    default: 'out/experiment',
  }),
}

const config = configFromCommandLine('experiment', spec)
const unavailable = cgroupUnavailableReason()
if (unavailable) {
  console.error(`experiment: replicas run in CPU-limited cgroups, and ${unavailable}`)
  process.exit(2)
}
const canonical = dataOrExit(() => readWorkload(config.workload))
const images = dataOrExit(() => loadImages(defaultImagesDir()))
const out = resolve(config.out)
mkdirSync(out, { recursive: true })
const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`)
removeStaleGroups()
const bootBoost: BootBoost = { enabled: config.bootBoost, bootCores: config.bootCores }

// Every run's gateway reads a registry state of the run's own (not the developer's): none, or the brownout fallback.
const registry = await runRegistryState(config.brownout, config.modelsDir).catch((error: Error) => {
  if (!(error instanceof RegistryError)) throw error
  console.error(`experiment: --brownout ${config.brownout}: ${error.message}`)
  process.exit(2)
})
const plainRegistryFile = join(out, 'model-registry-none.json')
const brownoutRegistryFile = join(out, 'model-registry-brownout.json')
await writeStateFile(plainRegistryFile, { models: {} })
if (registry.fallback) {
  await writeStateFile(brownoutRegistryFile, registry.state)
  log(`brownout: resnet18 → ${registry.fallback} for the custom policy (the baselines run without)`)
}

const calibration: Calibration = config.calibration
  ? JSON.parse(readFileSync(config.calibration, 'utf8'))
  : await calibrate({ cores: config.cores, bootBoost, maxReplicas: config.maxReplicas, images, dir: out, log })
writeFileSync(join(out, 'calibration.json'), `${JSON.stringify(calibration, null, 2)}\n`)
const fullCapacity =
  (config.maxReplicas * 1000) / (calibration.serviceTime.mean_ms * calibration.contention[config.maxReplicas - 1]!)
const rateScale = (config.utilisationAtPeak * fullCapacity) / (Math.max(...canonical) || 1)
const measured = compressWorkload(canonical, config.compress, rateScale)
const opening = measured.slice(0, 10)
const openingRate = Math.round(opening.reduce((a, b) => a + b, 0) / Math.max(1, opening.length))
const workload = [...Array.from({ length: config.warmupS }, () => openingRate), ...measured]
log(
  `${config.workload} compressed ${config.compress}× and scaled by ${rateScale.toFixed(3)} (peak = ${config.utilisationAtPeak} × ` +
    `${fullCapacity.toFixed(1)} req/s of ${config.maxReplicas} replicas at ${config.cores} cores): ${measured.length} s, ` +
    `${measured.reduce((a, b) => a + b, 0)} requests measured after a ${config.warmupS} s warm-up at ${openingRate} req/s; pods wait ${config.provisioningS} s before starting (stand-in for scheduling and image pull)`,
)
writeFileSync(
  join(out, 'workload.txt'),
  `# ${config.workload} compressed ${config.compress}× in time, rates × ${rateScale.toFixed(4)}, after a ${config.warmupS} s unmeasured warm-up\n${workload.join('\n')}\n`,
)

const startup = { provisioningMs: config.provisioningS * 1000, bootMs: calibration.bootMs }
const scenario: Scenario = {
  workload,
  warmupS: config.warmupS,
  serviceTime: calibration.serviceTime,
  contention: calibration.contention,
  startup,
  cpu: calibration.cpu,
  sloMs: config.sloMs,
  seed: 1,
  maxReplicas: config.maxReplicas,
  ...(registry.fallback && { brownout: { serviceRatio: config.brownoutServiceRatio } }),
  standby: config.standby,
  standbyModel: { resizeDelayMs: config.resizeDelayMs, standbyCores: config.standbyCores },
}
const seeds = Array.from({ length: config.seeds }, (_, i) => i + 1)
const fixedReplicas = rightSizedFixed(scenario, seeds)
const perSeed = seeds.map((seed) => comparePolicies({ ...scenario, seed, fixedReplicas, policies: config.policies }))
const predictions = summarizeSeeds(perSeed)
writeFileSync(
  join(out, 'predictions.json'),
  `${JSON.stringify({ predictedAt: new Date().toISOString(), fixedReplicas, seeds, predictions }, null, 2)}\n`,
)
log(`predicted before any real run (mean [range] over seeds 1–${config.seeds}):\n${seedTable(predictions)}`)

// Repeats interleaved (custom, hpa-70, custom, hpa-70, …), so a drift of the machine does not favour one policy.
const order: { policy: PolicyName; seed: number }[] = []
for (let r = 1; r <= config.repeats; r++)
  for (const policy of ['custom', 'hpa-70'] as const)
    if (config.policies.includes(policy)) order.push({ policy, seed: r })
for (const policy of config.policies) if (policy !== 'custom' && policy !== 'hpa-70') order.push({ policy, seed: 1 })

const outcomes: PolicyOutcome[] = config.policies.map((policy, i) => ({ policy, real: [], predicted: predictions[i]! }))
for (const [i, { policy, seed }] of order.entries()) {
  const controller = makeController(policy, { ...scenario, seed }, fixedReplicas)
  const dir = join(out, `${controller.name}-${seed}`)
  mkdirSync(dir, { recursive: true })
  log(`run ${i + 1}/${order.length}: ${controller.name} (seed ${seed})`)
  const result = await runReal({
    controller,
    workload,
    warmupS: config.warmupS,
    images,
    seed,
    cores: config.cores,
    bootBoost,
    provisioningMs: startup.provisioningMs,
    maxReplicas: config.maxReplicas,
    standby: { setting: config.standby, cores: config.standbyCores, resizeDelayMs: config.resizeDelayMs },
    startupS: configuredStartupS(startup),
    sloMs: config.sloMs,
    timeoutMs: CLIENT_TIMEOUT_MS,
    dir,
    registryFile: policy === 'custom' && registry.fallback ? brownoutRegistryFile : plainRegistryFile,
    modelsDir: config.modelsDir,
    log: (message) => log(`  ${message}`),
  })
  writeFileSync(join(dir, 'run.json'), `${JSON.stringify(result, null, 2)}\n`)
  log(
    `  ${controller.name}: ${(result.slowShare * 100).toFixed(2)} % over ${config.sloMs} ms or failed, ` +
      `${result.replicaSeconds.toFixed(0)} replica-s, p99 ${result.p99Ms.toFixed(0)} ms` +
      (result.degradedShare > 0
        ? `, ${(result.degradedShare * 100).toFixed(2)} % degraded (fallback service time ${result.fallbackServiceRatio?.toFixed(2) ?? '?'} × the model's)`
        : ''),
  )
  outcomes.find((o) => o.policy === policy)!.real.push(result)
}

for (const o of outcomes) if (o.policy === 'fixed') o.policy = `fixed-${fixedReplicas}`
const tables =
  `Real runs (mean [range] over repeats):\n${realTable(outcomes, config.sloMs)}\n\n` +
  `Predicted before the runs (simulator, mean over seeds 1–${config.seeds}) vs real:\n${predictionTable(outcomes)}\n\n` +
  `Pod start-ups during the runs, asked → serving (${config.provisioningS} s provisioning stand-in, ${config.cores} cores${bootBoost.enabled ? `, booted at ${bootBoost.bootCores}` : ''}):\n` +
  startupTable(outcomes.flatMap((o) => o.real.flatMap((r) => r.pods.filter((p) => p.createdAt >= 0))))
console.log(tables)
writeFileSync(join(out, 'tables.txt'), `${tables}\n`)
const costs =
  `Cost both ways (mean over repeats; custom's standbys ${config.standby}, waiting at ${config.standbyCores} cores, promoted after a ${config.resizeDelayMs} ms resize stand-in):\n` +
  costTable(outcomes)
console.log(`\n${costs}`)
appendFileSync(join(out, 'tables.txt'), `\n${costs}\n`)
writeFileSync(
  join(out, 'report.html'),
  experimentHtml(
    'Switchyard: every scaling policy on CPU-limited replicas',
    `${measured.length} s of ${config.workload} (compressed ${config.compress}×, rates × ${rateScale.toFixed(3)}); replicas at ${config.cores} cores each ` +
      `(cgroup CPU quota standing in for a pod's limit${bootBoost.enabled ? `; booting at ${bootBoost.bootCores} cores until ready, a start-up CPU boost` : ''}), at most ${config.maxReplicas}; new pods wait ${config.provisioningS} s before ` +
      `starting (stand-in for scheduling and image pull). Each run is measured after a ${config.warmupS} s warm-up at the workload's opening rate. Replica-seconds count from the decision to the process's exit.`,
    `${tables}\n\n${costs}`,
    outcomes,
    config.sloMs,
  ),
)
log(`written to ${out}/ (tables.txt, report.html, calibration.json, predictions.json, one folder per run)`)
