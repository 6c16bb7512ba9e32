/**
 * `npm run experiment` — the seed experiment for real, on this machine: the local stack (gateway + replica processes)
 * under the load tester, once with Switchyard's autoscaler (local actuator) and once with a fixed replica count.
 * Each run writes its load report (latency, queue, replicas over time). Then the simulator replays the same
 * workload, with the service times measured in the run, and its predictions are set beside what happened.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { parse, setting } from '../../common/config.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { spawnService } from '../../common/service-process.ts'
import { defaultImagesDir, loadImages } from '../../loadtester/src/images.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { readWorkload } from '../../loadtester/src/workload-file.ts'
import { writeReport } from '../../loadtester/src/write-report.ts'
import { comparePolicies, type PolicyName } from '../../simulator/src/compare.ts'
import { fitServiceTime, readServiceTime } from '../../simulator/src/service-time.ts'
import { crossCheckTable, observedStartupS, type RunOutcome } from './cross-check.ts'

const spec = {
  workload: setting({
    env: 'EXPERIMENT_WORKLOAD',
    flag: 'workload',
    description: 'Workload (default: the canonical shape made to fit 2 cores)',
    parse: parse.string(),
    default: 'workload/experiment-small.txt',
  }),
  replicas: setting({
    env: 'EXPERIMENT_REPLICAS',
    flag: 'replicas',
    description: 'Most replicas (and the fixed baseline): one per core',
    parse: parse.integer({ min: 1, max: 64 }),
    default: availableParallelism(),
  }),
  sloMs: setting({
    env: 'EXPERIMENT_SLO_MS',
    flag: 'slo-ms',
    description: 'Latency objective',
    parse: parse.integer({ min: 1 }),
    default: 500,
  }),
  out: setting({
    env: 'EXPERIMENT_OUT',
    flag: 'out',
    description: 'Output directory',
    parse: parse.string(),
    default: 'out/experiment',
  }),
}

const config = configFromCommandLine('experiment', spec)

const workload = dataOrExit(() => readWorkload(config.workload))
const images = dataOrExit(() => loadImages(defaultImagesDir()))
const measured = dataOrExit(() =>
  readServiceTime(fileURLToPath(new URL('../../simulator/data/service-time-replica.json', import.meta.url))),
)
const startupS = (measured.startup_ms ?? 2000) / 1000
const runs: { policy: PolicyName; args: string[] }[] = [
  {
    policy: 'custom',
    args: [
      '--local-replicas',
      '1',
      '--autoscaler',
      'local',
      '--min-replicas',
      '1',
      '--max-replicas',
      String(config.replicas),
      '--replica-startup-s',
      String(startupS),
    ],
  },
  { policy: 'fixed', args: ['--local-replicas', String(config.replicas), '--autoscaler', 'none'] },
]

const outcomes: RunOutcome[] = []
for (const run of runs) {
  console.error(`${run.policy}: ${config.workload} (${workload.length} s) against the local stack…`)
  const gateway = await spawnService('gateway', { args: ['--discovery', 'local', '--log-level', 'warn', ...run.args] })
  await untilOk(`${gateway.url}/readyz`, 'the gateway', 60_000)
  const result = await runLoad({
    target: gateway.url,
    workload,
    arrival: 'poisson',
    seed: 1,
    images,
    timeoutMs: 10_000,
    concurrencyCap: 1024,
  })
  gateway.child.kill('SIGTERM')
  await gateway.exited
  const dir = join(config.out, run.policy)
  const summary = writeReport(
    dir,
    {
      target: gateway.url,
      workload: config.workload,
      scale: 1,
      arrival: 'poisson',
      seed: 1,
      timeoutMs: 10_000,
      sloMs: config.sloMs,
      seconds: workload.length,
    },
    result,
  )
  // The service times of this very run (contention on the shared cores included) feed its simulation.
  const upstream = result.records.flatMap((r) => (r.upstreamMs === undefined ? [] : [r.upstreamMs]))
  const serviceTime = fitServiceTime(upstream, `upstream latency measured during the ${run.policy} run`)
  // Under load a replica boots slower than idle (it shares the cores): use the start-up this run showed.
  const runStartupS = run.policy === 'custom' ? (observedStartupS(result.replicas) ?? startupS) : startupS
  const [simulated] = comparePolicies({
    workload,
    serviceTime,
    startupDelayMs: runStartupS * 1000,
    sloMs: config.sloMs,
    seed: 1,
    fixedReplicas: config.replicas,
    maxReplicas: config.replicas,
    policies: [run.policy],
  })
  outcomes.push({ policy: run.policy, real: summary, simulated: simulated!, serviceTime, startupS: runStartupS })
  console.error(`  report: ${dir}/report.html`)
}

const table = crossCheckTable(outcomes, config.sloMs)
console.log(table)
mkdirSync(config.out, { recursive: true })
writeFileSync(
  join(config.out, 'experiment.json'),
  `${JSON.stringify(
    outcomes.map(({ simulated, ...o }) => ({ ...o, simulated: { ...simulated, timeline: undefined } })),
    null,
    2,
  )}\n`,
)
writeFileSync(join(config.out, 'cross-check.txt'), `${table}\n`)
console.log(`\nwritten to ${config.out}/`)
