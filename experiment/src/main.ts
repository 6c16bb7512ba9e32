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
import { writeStateFile } from '../../common/model-registry/state-file.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { defaultImagesDir, loadImages } from '../../loadtester/src/images.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { compressWorkload } from '../../loadtester/src/workload-shapes.ts'
import {
  CLIENT_TIMEOUT_MS,
  comparePolicies,
  configuredStartupS,
  makeController,
  type PolicyName,
  rightSizedFixed,
  type Scenario,
  summarizeSeeds,
} from '../../simulator/src/compare.ts'
import { seedTable } from '../../simulator/src/report.ts'
import type { BootBoost } from './boot-boost.ts'
import { runRegistryState } from './brownout-state.ts'
import { type Calibration, calibrate } from './capacity-probe.ts'
import { cgroupUnavailableReason, removeStaleGroups } from './cgroup.ts'
import { experimentSpec } from './config.ts'
import { costTable } from './cost-table.ts'
import { runReal } from './real-run.ts'
import { experimentHtml } from './report-html.ts'
import { type PolicyOutcome, predictionTable, realTable, startupTable } from './tables.ts'

const config = configFromCommandLine('experiment', experimentSpec)
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
