/**
 * `npm run bench:startup` — where a replica's start-up goes at a pod's CPU limit, and what each cut saves.
 *
 * Boots one replica at a time in a cgroup with a CFS quota (the experiment's pods: 0.6 cores by default), with and
 * without a start-up CPU boost, and with each start-up cut turned off in turn; rounds interleave the variants so a
 * drift of the shared machine does not favour one. Per variant: spawn → ready (wall, the parent's clock), CPU
 * seconds and the replica's own phases, median [min–max]. With --baseline-entry (another checkout's
 * replica/src/main.ts), that code's spawn → ready and CPU beside. Needs root and cgroup v1 (as the experiment).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { configFromCommandLine } from '../../common/command-line.ts'
import { cpuInfo, describeCpu } from '../../common/measure/cpu-info.ts'
import { spawnReplica } from '../../common/service-process.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import type { StartupBreakdown } from '../../replica/src/startup-timing.ts'
import { CpuLimitedGroup, cgroupUnavailableReason, removeStaleGroups } from '../src/cgroup.ts'
import { startupBenchSpec, startupBenchSummary } from './startup-bench-config.ts'

const config = configFromCommandLine('bench:startup', startupBenchSpec, undefined, startupBenchSummary)

const unavailable = cgroupUnavailableReason()
if (unavailable) {
  console.error(`bench:startup needs CPU-limited cgroups: ${unavailable}`)
  process.exit(1)
}
removeStaleGroups()

const replicaDefaults = loadReplicaConfig({ env: {}, argv: [] })
const cacheDir = join(tmpdir(), `switchyard-startup-bench-${process.pid}`)
const baselineCacheDir = join(cacheDir, 'baseline')
const commonArgs = [
  '--log-level',
  'warn',
  '--intra-op-threads',
  '1',
  '--models-dir',
  replicaDefaults.modelsDir ?? 'none',
]

interface Variant {
  name: string
  bootCores: number
  args: string[]
  /** NODE_COMPILE_CACHE for the process, as the experiment's local cluster sets it. */
  compileCache?: string
  env?: Record<string, string | undefined>
  entry?: string
  /** Before each boot (e.g. remove a cached file). */
  before?: () => void
}

const withEnv = (extra: Record<string, string>) => ({
  ...process.env,
  ...extra,
})
const removeUntrainedModel = () => {
  for (const file of readdirSync(cacheDir)) if (file.startsWith('untrained-seed')) rmSync(join(cacheDir, file))
}
const ours = ['--model-cache-dir', cacheDir, ...commonArgs]
const compileCache = join(cacheDir, 'node-compile-cache')
const variants: Variant[] = [
  { name: 'all cuts, no boost', bootCores: config.cores, args: ours, compileCache },
  ...config.bootCores.map((bootCores) => ({
    name: `all cuts, boot at ${bootCores} cores`,
    bootCores,
    args: ours,
    compileCache,
  })),
  ...(config.cuts
    ? [
        {
          name: 'no compile cache',
          bootCores: config.cores,
          args: ours,
          env: withEnv({ NODE_DISABLE_COMPILE_CACHE: '1' }),
        },
        {
          name: 'no optimised-model cache',
          bootCores: config.cores,
          args: [...ours, '--optimized-model-cache', 'off'],
        },
        { name: 'untrained model rebuilt', bootCores: config.cores, args: ours, before: removeUntrainedModel },
      ]
    : []),
  ...(config.baselineEntry
    ? [
        {
          name: 'baseline, no boost',
          bootCores: config.cores,
          args: ['--model-cache-dir', baselineCacheDir, ...commonArgs],
          entry: config.baselineEntry,
        },
        ...config.bootCores.slice(-1).map((bootCores) => ({
          name: `baseline, boot at ${bootCores} cores`,
          bootCores,
          args: ['--model-cache-dir', baselineCacheDir, ...commonArgs],
          entry: config.baselineEntry,
        })),
      ]
    : []),
]

interface Boot {
  readyMs: number
  cpuSeconds: number
  throttledSeconds: number
  startup?: StartupBreakdown
}

let groupCount = 0
async function boot(variant: Variant): Promise<Boot> {
  variant.before?.()
  const group = new CpuLimitedGroup(`startup-bench-${groupCount++}`, variant.bootCores)
  let spawnedAt = 0
  try {
    const replica = await spawnReplica({
      args: variant.args,
      ...(variant.env && { env: variant.env }),
      ...(variant.entry && { entry: variant.entry }),
      ...(variant.compileCache && { compileCache: variant.compileCache }),
      onSpawn: (child) => {
        spawnedAt = performance.now()
        group.add(child.pid!)
      },
      startTimeoutMs: 180_000,
    })
    const readyMs = performance.now() - spawnedAt
    // Lowered once ready, as the experiment's local cluster does; CPU counted up to here.
    group.setCores(config.cores)
    const result = {
      readyMs,
      cpuSeconds: group.cpuSeconds(),
      throttledSeconds: group.throttledSeconds(),
      ...(replica.startup !== undefined && { startup: replica.startup as StartupBreakdown }),
    }
    replica.child.kill('SIGTERM')
    await replica.exited
    return result
  } finally {
    try {
      group.remove()
    } catch {
      // An exiting thread may hold it a moment; removeStaleGroups cleans it next time.
    }
  }
}

console.log(`bench:startup — ${new Date().toISOString()}`)
for (const line of describeCpu()) console.log(line)
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (the machine is shared: read ranges, not points)`,
)
console.log(
  `replica at ${config.cores} cores (cgroup v1 CFS quota), ` +
    `${config.repeats} boot(s) per variant, models: ${replicaDefaults.modelsDir}\n`,
)

mkdirSync(cacheDir, { recursive: true })
// The first boots fill the caches (TF.js conversion, untrained model, optimised graphs, compiled code): every later
// boot is a pod's boot on a machine that has booted the replica before (what an image built with them has).
console.log('priming the caches (one unmeasured boot each)…')
await boot({ ...variants[0]!, bootCores: Math.max(1, config.cores) })
if (config.baselineEntry) await boot({ ...variants.find((v) => v.entry)!, bootCores: Math.max(1, config.cores) })

const results = new Map<string, Boot[]>(variants.map((v) => [v.name, []]))
for (let round = 0; round < config.repeats; round++) {
  for (const variant of variants) {
    const result = await boot(variant)
    results.get(variant.name)!.push(result)
    console.log(
      `  round ${round + 1}: ${variant.name.padEnd(34)} ready after ${result.readyMs.toFixed(0).padStart(5)} ms, ${result.cpuSeconds.toFixed(2)} CPU s`,
    )
  }
}
rmSync(cacheDir, { recursive: true, force: true })

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const cell = (values: number[], digits = 0) =>
  values.length === 0
    ? '—'
    : values.length === 1
      ? values[0]!.toFixed(digits)
      : `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`

const phases: { label: string; of: (s: StartupBreakdown) => number | undefined }[] = [
  { label: 'Node start', of: (s) => s.process_ms },
  { label: 'imports', of: (s) => s.imports_ms },
  { label: 'model load', of: (s) => s.model_load_ms },
  { label: 'runtime+sessions', of: (s) => s.engines_ms },
  { label: '  (sessions)', of: (s) => s.session_ms },
  { label: 'HTTP server', of: (s) => s.server_ms },
  { label: 'warm-up', of: (s) => s.warmup_ms },
  { label: 'main-thread CPU', of: (s) => s.main_thread_cpu_ms },
]
const lines = [
  `spawn → ready at ${config.cores} cores, ms (median [min–max] of ${config.repeats}); CPU seconds used and seconds the quota held`,
  "the group back (the cgroup's cpuacct.usage and cpu.stat throttled_time, to ready);",
  'the phases are wall clock inside the replica; main-thread CPU is the part no boost can spread over cores',
]
const width = 26
lines.push(
  [
    'variant'.padEnd(36),
    'spawn→ready'.padEnd(width),
    'CPU s'.padEnd(20),
    'throttled s'.padEnd(20),
    ...phases.map((p) => p.label.padEnd(width)),
  ].join(''),
)
for (const variant of variants) {
  const boots = results.get(variant.name)!
  const of = (f: (s: StartupBreakdown) => number | undefined) =>
    boots.flatMap((b) => (b.startup && f(b.startup) !== undefined ? [f(b.startup)!] : []))
  lines.push(
    [
      variant.name.padEnd(36),
      cell(boots.map((b) => b.readyMs)).padEnd(width),
      cell(
        boots.map((b) => b.cpuSeconds),
        2,
      ).padEnd(20),
      cell(
        boots.map((b) => b.throttledSeconds),
        2,
      ).padEnd(20),
      ...phases.map((p) => cell(of(p.of)).padEnd(width)),
    ].join(''),
  )
}
console.log(`\n${lines.join('\n')}`)
mkdirSync('out/bench', { recursive: true })
writeFileSync(
  'out/bench/startup.json',
  `${JSON.stringify({ measuredAt: new Date().toISOString(), cpu: cpuInfo(), cores: config.cores, results: Object.fromEntries(results) }, null, 2)}\n`,
)
console.log('\nwritten to out/bench/startup.json')
