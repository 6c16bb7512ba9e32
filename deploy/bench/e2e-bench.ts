/**
 * `npm run bench:e2e` — the whole stack against the machine's bound, in one run:
 *
 * (a) the bound: the replica's own pipeline (model, inference thread, batcher, sharp; no HTTP) in as many processes
 *     as the layout says, kept busy, images/s — for each candidate thread/batch/in-flight layout; the best is the bound.
 * (b) the stack as `npm start` runs it (the gateway with DISCOVERY=local, its local replicas and autoscaler, all at
 *     their defaults), and any other layouts asked for with --stack-layouts, at saturation: the load tester in its own
 *     process offers more than the bound, as clients that wait (a long deadline, sent) with a cap on requests in
 *     flight that keeps the gateway's queue short but never empty; goodput = 200s per second in the steady window.
 * (c) goodput / bound.
 * Every phase also prints the cores each process used (utime + stime from /proc over the measured window), the
 * machine's idle cores and what other processes took: where the difference between (a) and (b) goes.
 *
 * It lives in deploy/ because it measures the deployment of the whole stack on one machine (gateway, replicas, load
 * tester together, as deploy/stack assembles them) and its result sets defaults of two components.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { parse, setting } from '../../common/config.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { type ServiceProcess, spawnService } from '../../common/service-process.ts'
import { describeCpu } from '../../common/testing/cpu-info.ts'
import { type CpuSample, childPids, coresBetween, sampleCpu } from '../../common/testing/process-cpu.ts'
import { sampleImages } from '../../common/testing/sample-images.ts'
import { runLoadPhase } from '../../gateway/bench/load-phase.ts'
import { loadGatewayConfig } from '../../gateway/src/config.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import type { PipelineDone, PipelineGo, PipelineSetup } from './pipeline-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'out/bench/e2e')
const CORES = availableParallelism()

interface BoundLayout {
  procs: number
  threads: number
  batch: number
  inflight: number
  sharp: number
}

interface StackLayout {
  /** undefined for `default`: nothing set, exactly what `npm start` runs. */
  replicas?: number
  threads?: number
  slots?: number
  batch?: number
  sharp?: number
  /** REPLICA_SLOTS_WHEN_QUEUED: slots lent to each replica while the gateway's queue is deep. */
  lend?: number
}

/** `key=value,key=value;key=value,…` → one object per layout, every key known and a positive integer. */
function layouts<K extends string>(keys: readonly K[], allowDefault: boolean) {
  return (raw: string): Partial<Record<K, number>>[] =>
    raw
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((spec) => {
        if (spec === 'default' && allowDefault) return {}
        const layout: Partial<Record<K, number>> = {}
        for (const pair of spec.split(',')) {
          const [key, value] = pair.split('=').map((s) => s.trim())
          if (!keys.includes(key as K)) throw new Error(`unknown key "${key}" in "${spec}" (known: ${keys.join(', ')})`)
          const n = Number(value)
          if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`${key} must be an integer 1–256 in "${spec}"`)
          layout[key as K] = n
        }
        return layout
      })
}

const BOUND_KEYS = ['procs', 'threads', 'batch', 'inflight', 'sharp'] as const
const STACK_KEYS = ['replicas', 'threads', 'slots', 'batch', 'sharp', 'lend'] as const
const DEFAULT_BOUND_LAYOUTS =
  `procs=${CORES},threads=1,batch=1,inflight=2;procs=${CORES},threads=1,batch=4,inflight=8;` +
  `procs=${CORES},threads=1,batch=8,inflight=16;procs=1,threads=${CORES},batch=4,inflight=8;` +
  `procs=1,threads=${CORES},batch=8,inflight=16`

const config = configFromCommandLine(
  'bench:e2e',
  {
    boundLayouts: setting({
      env: 'BENCH_BOUND_LAYOUTS',
      flag: 'bound-layouts',
      description:
        'Layouts of the bare pipeline, ";"-separated: procs (processes), threads (onnxruntime intra-op), batch (largest ' +
        `micro-batch), inflight (predictions in flight per process), sharp (libvips threads per image) [${DEFAULT_BOUND_LAYOUTS}]`,
      parse: layouts(BOUND_KEYS, false),
      default: () => layouts(BOUND_KEYS, false)(DEFAULT_BOUND_LAYOUTS),
    }),
    stackLayouts: setting({
      env: 'BENCH_STACK_LAYOUTS',
      flag: 'stack-layouts',
      description:
        'Stacks to measure, ";"-separated: "default" (npm start as it is), or replicas (LOCAL_REPLICAS = MAX_REPLICAS), ' +
        'threads (INTRA_OP_THREADS), slots (REPLICA_SLOTS), batch (MAX_BATCH_SIZE), sharp (SHARP_CONCURRENCY), lend ' +
        '(REPLICA_SLOTS_WHEN_QUEUED); unset keys keep their defaults, e.g. "default;replicas=2,slots=2,batch=4;lend=6" ["default"]',
      parse: layouts(STACK_KEYS, true),
      default: () => layouts(STACK_KEYS, true)('default'),
    }),
    boundSeconds: setting({
      env: 'BENCH_BOUND_SECONDS',
      flag: 'bound-seconds',
      description: 'Measured window of each bound layout (after a 3 s warm-up)',
      parse: parse.integer({ min: 2, max: 600 }),
      default: 8,
    }),
    seconds: setting({
      env: 'BENCH_SECONDS',
      flag: 'seconds',
      description: 'Measured window of each stack (after the warm-up)',
      parse: parse.integer({ min: 5, max: 600 }),
      default: 20,
    }),
    inFlight: setting<number | 'auto'>({
      env: 'BENCH_IN_FLIGHT',
      flag: 'in-flight',
      description:
        'Most requests the load tester keeps in flight (its --concurrency-cap; due requests beyond it are not sent): ' +
        "auto = 2 × the stack's replica slots (lent ones included) + 2, enough that the gateway always has work queued; 0 = uncapped, " +
        'so the overload is refused (503) and refusals cost CPU too',
      parse: (raw) => (raw === 'auto' ? 'auto' : parse.integer({ min: 0, max: 100_000 })(raw)),
      default: 'auto',
    }),
    loadFractions: setting({
      env: 'BENCH_LOAD_FRACTIONS',
      flag: 'load-fractions',
      description:
        "After each stack's saturation phase, latency phases at these fractions of the FIRST stack's goodput (the same " +
        'rates for every stack, so layouts compare at equal load), open loop with no in-flight cap, e.g. "0.5,0.9" [none]',
      parse: (raw) =>
        raw
          .split(',')
          .filter((s) => s.trim() !== '')
          .map((s) => parse.number({ min: 0.05, max: 2 })(s.trim())),
      default: () => [] as number[],
    }),
    warmUp: setting({
      env: 'BENCH_WARM_UP_S',
      flag: 'warm-up',
      description: 'Seconds of load before a stack is measured',
      parse: parse.integer({ min: 1, max: 120 }),
      default: 5,
    }),
    overload: setting({
      env: 'BENCH_OVERLOAD',
      flag: 'overload',
      description:
        'Offered load on a stack, as a multiple of the bound (or of its images per CPU-second × cores, if more: on a ' +
        'shared machine); above 1, the stack is never short of work',
      parse: parse.number({ min: 1, max: 10 }),
      default: 1.1,
    }),
  },
  undefined,
  "The stack at the machine's bound, in one run: (a) the replica's pipeline bare (no HTTP) in the best layout found,\n" +
    '(b) the stack as npm start runs it (and --stack-layouts) at saturation through the gateway, the load tester in its\n' +
    'own process, (c) their ratio; cores used per process. Needs ../shared/images/imagenet-sample; writes\n' +
    'out/bench/e2e.json and out/bench/e2e.md.',
)
dataOrExit(() => sampleImages())

const started = new Date()
const load = loadavg()
const children = new Set<ChildProcess>()
// Whatever way this ends, no replica, gateway or pipeline process outlives it.
const killAll = () => {
  for (const child of children) child.kill('SIGKILL')
}
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

const fmt = (n: number, digits = 1) => n.toFixed(digits)
const pct = (x: number) => `${(100 * x).toFixed(1)} %`
console.log(
  `bench:e2e — ${started.toISOString()}, ${CORES} cores (${cpus()[0]?.model}), load average ${load.map((l) => fmt(l, 2)).join(' ')}`,
)
console.log(`${describeCpu().join('\n')}\n`)

// (a) ----------------------------------------------------------------------------------------------------------
const PIPELINE = fileURLToPath(new URL('./pipeline-process.ts', import.meta.url))
const BOUND_WARM_UP_MS = 3000

interface BoundResult {
  layout: BoundLayout
  imagesPerSecond: number
  meanBatch: number
  cores: ReturnType<typeof coresBetween>
}

async function boundPhase(layout: BoundLayout): Promise<BoundResult> {
  const procs = Array.from({ length: layout.procs }, () => {
    const child = spawn(process.execPath, [PIPELINE], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.add(child)
    return child
  })
  const setup: PipelineSetup = {
    type: 'setup',
    intraOpThreads: layout.threads,
    maxBatchSize: layout.batch,
    sharpConcurrency: layout.sharp,
    concurrency: layout.inflight,
  }
  await Promise.all(
    procs.map((child) => {
      const ready = once(child, 'message')
      child.send(setup)
      return ready
    }),
  )
  const go: PipelineGo = { type: 'go', warmUpMs: BOUND_WARM_UP_MS, measureMs: config.boundSeconds * 1000 }
  const pids = new Map(procs.map((child, i) => [`pipeline ${i + 1}`, child.pid!]))
  const done = procs.map(async (child) => {
    const [message] = (await once(child, 'message')) as [PipelineDone]
    await once(child, 'exit')
    children.delete(child)
    return message
  })
  for (const child of procs) child.send(go)
  const window = cpuWindow(pids, BOUND_WARM_UP_MS, config.boundSeconds * 1000)
  const results = await Promise.all(done)
  const images = results.reduce((sum, r) => sum + r.images, 0)
  return {
    layout,
    imagesPerSecond: images / config.boundSeconds,
    meanBatch: results.reduce((sum, r) => sum + r.meanBatch * r.images, 0) / Math.max(1, images),
    cores: coresBetween(...(await window)),
  }
}

/** CPU samples at `fromMs` and `fromMs + lengthMs` from now. */
async function cpuWindow(
  pids: ReadonlyMap<string, number> | (() => ReadonlyMap<string, number>),
  fromMs: number,
  lengthMs: number,
): Promise<[CpuSample, CpuSample]> {
  const names = typeof pids === 'function' ? pids : () => pids
  await new Promise((resolve) => setTimeout(resolve, fromMs))
  const watched = names()
  const before = sampleCpu(watched)
  await new Promise((resolve) => setTimeout(resolve, lengthMs))
  return [before, sampleCpu(watched)]
}

const bounds: BoundResult[] = []
console.log('(a) the bound: the replica pipeline bare (serveModel + sharp, no HTTP), all cores')
for (const partial of config.boundLayouts) {
  const layout: BoundLayout = { procs: CORES, threads: 1, batch: 4, inflight: 8, sharp: 1, ...partial }
  const result = await boundPhase(layout)
  bounds.push(result)
  console.log(
    `  ${describeBound(layout)}: ${fmt(result.imagesPerSecond)} img/s, mean batch ${fmt(result.meanBatch, 2)}, ` +
      `cores ${describeCores(result.cores)}`,
  )
}
const best = bounds.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a))
const bound = best.imagesPerSecond
// What the bound would be with every core to itself: on a shared machine the bound phases may have run in a busier
// moment than a stack phase, and an offered load below the stack's capacity would not saturate it.
const boundOnIdleMachine = (bound / best.cores.ours) * CORES
const offered = Math.round(config.overload * Math.max(bound, boundOnIdleMachine))
console.log(
  `  bound = ${fmt(bound)} img/s (${describeBound(best.layout)}); ${fmt(bound / best.cores.ours)} images per CPU-second\n`,
)

// (b) ----------------------------------------------------------------------------------------------------------
const gatewayDefaults = loadGatewayConfig({ env: {}, argv: [] })
const replicaDefaults = loadReplicaConfig({ env: {}, argv: [] })

interface StackResult {
  name: string
  settings: { replicas: number; threads: number; slots: number; batch: number; sharp: number; lend: number }
  offered: number
  /** The load tester's cap on requests in flight (0: none). */
  inFlight: number
  goodput: number
  ratio: number
  /** Answers per CPU-second of every stack process over the bound's images per CPU-second of its pipelines. */
  cpuRatio: number
  byStatus: Record<string, number>
  errorsInWindow: number
  p50: number | null
  p99: number | null
  meanBatch: number | null
  cores: ReturnType<typeof coresBetween>
}

/** `load`: an open-loop latency phase at this rate with this in-flight cap, instead of saturation. */
async function stackPhase(
  layout: StackLayout,
  index: number,
  load?: { rate: number; inFlight: number },
): Promise<StackResult> {
  const isDefault = Object.keys(layout).length === 0
  const settings = {
    replicas: layout.replicas ?? gatewayDefaults.localReplicas,
    threads: layout.threads ?? replicaDefaults.intraOpThreads,
    slots: layout.slots ?? gatewayDefaults.slotsPerReplica,
    batch: layout.batch ?? replicaDefaults.maxBatchSize,
    sharp: layout.sharp ?? replicaDefaults.sharpConcurrency,
    lend: layout.lend ?? gatewayDefaults.slotsWhenQueued,
  }
  const name = isDefault ? 'default (npm start)' : describeStack(settings)
  const env: Record<string, string> = {}
  if (layout.replicas) {
    env.LOCAL_REPLICAS = String(layout.replicas)
    env.MAX_REPLICAS = String(layout.replicas)
  }
  if (layout.slots) env.REPLICA_SLOTS = String(layout.slots)
  if (layout.lend) env.REPLICA_SLOTS_WHEN_QUEUED = String(layout.lend)
  const replicaArgs: string[] = []
  if (layout.threads) replicaArgs.push('--intra-op-threads', String(layout.threads))
  if (layout.batch) replicaArgs.push('--max-batch-size', String(layout.batch))
  if (layout.sharp) replicaArgs.push('--sharp-concurrency', String(layout.sharp))
  if (replicaArgs.length) env.LOCAL_REPLICA_ARGS = replicaArgs.join(' ')

  // `npm start` is `node gateway/src/main.ts`: the same entry point, no flags but a free port (the environment is ours).
  const gateway: ServiceProcess = await spawnService('gateway', { env: { ...process.env, ...env } })
  children.add(gateway.child)
  await untilOk(`${gateway.url}/readyz`, 'the gateway')
  const replicasView = async () =>
    (await (await fetch(`${gateway.url}/replicas`)).json()) as { ready: number; replicas: { url: string }[] }
  const readySince = performance.now()
  while ((await replicasView()).ready < settings.replicas) {
    if (performance.now() - readySince > 120_000) throw new Error(`${name}: replicas not ready after 120 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const replicaUrls = (await replicasView()).replicas.map((r) => r.url)
  const batchBefore = await batchCounts(replicaUrls)

  const total = config.warmUp + config.seconds + 2
  let window: Promise<[CpuSample, CpuSample]> | undefined
  const inFlight =
    load?.inFlight ??
    // Lent slots count: the queue must stay deeper than what lending can bind, or it never lends fully.
    (config.inFlight === 'auto' ? 2 * settings.replicas * Math.max(settings.slots, settings.lend) + 2 : config.inFlight)
  const rows = await runLoadPhase({
    target: gateway.url,
    rate: load?.rate ?? offered,
    seconds: total,
    dir: join(OUT, `stack-${index + 1}`),
    seed: index + 1,
    // Clients that wait (a long deadline, sent): the gateway refuses nothing for time, and the in-flight cap keeps
    // its queue short but never empty — the stack's capacity, not its shedding (bench:overload measures that).
    flags: [
      ...['--timeout-ms', '60000', '--send-deadline', 'true'],
      ...(inFlight > 0 ? ['--concurrency-cap', String(inFlight)] : []),
    ],
    onSpawn: (loadTester) => {
      children.add(loadTester)
      window = cpuWindow(
        () => {
          const pids = new Map<string, number>([
            ['gateway', gateway.child.pid!],
            ['load tester', loadTester.pid!],
          ])
          childPids(gateway.child.pid!).forEach((pid, i) => {
            pids.set(`replica ${i + 1}`, pid)
          })
          return pids
        },
        // The load tester reads its images first (≈ 1 s): the window starts after the warm-up of its schedule.
        (config.warmUp + 1) * 1000,
        config.seconds * 1000,
      )
    },
  })
  const cores = coresBetween(...(await window!))
  const batchAfter = await batchCounts(replicaUrls)
  gateway.child.kill('SIGTERM')
  await gateway.exited
  children.delete(gateway.child)

  const from = config.warmUp * 1000
  const until = from + config.seconds * 1000
  const inWindow = rows.filter((r) => r.status !== 'not_sent' && r.answered >= from && r.answered < until)
  const ok = inWindow.filter((r) => r.status === '200')
  const latencies = ok.map((r) => r.latency).sort((a, b) => a - b)
  const byStatus: Record<string, number> = {}
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1
  const goodput = ok.length / config.seconds
  const batches = batchAfter.count - batchBefore.count
  return {
    name,
    settings,
    offered: load?.rate ?? offered,
    inFlight,
    goodput,
    ratio: goodput / bound,
    cpuRatio: goodput / cores.ours / (bound / best.cores.ours),
    byStatus,
    errorsInWindow: inWindow.length - ok.length,
    p50: latencies.length ? latencies[Math.floor(latencies.length * 0.5)]! : null,
    p99: latencies.length ? latencies[Math.ceil(latencies.length * 0.99) - 1]! : null,
    meanBatch: batches > 0 ? (batchAfter.sum - batchBefore.sum) / batches : null,
    cores,
  }
}

/**
 * Images and batches run so far, summed over the replicas' `replica_batch_size` histograms. A replica that is gone
 * (the autoscaler stopped it, or it died) counts nothing: the mean batch then covers the others.
 */
async function batchCounts(urls: string[]): Promise<{ sum: number; count: number }> {
  let sum = 0
  let count = 0
  for (const url of urls) {
    const text = await fetch(`${url}/metrics`)
      .then((response) => response.text())
      .catch(() => '')
    for (const line of text.split('\n')) {
      const [name, value] = [line.split(/[{ ]/)[0], Number(line.split(' ').at(-1))]
      if (name === 'replica_batch_size_sum') sum += value
      if (name === 'replica_batch_size_count') count += value
    }
  }
  return { sum, count }
}

const stacks: StackResult[] = []
const latencies: LatencyResult[] = []

interface LatencyResult {
  stack: string
  fraction: number
  result: StackResult
}

/**
 * Latency under load below saturation: open loop (Poisson) at each --load-fractions share of the first stack's
 * goodput, no in-flight cap (the stack's own queue and admission see real traffic); p50/p99 over the window.
 */
async function latencyPhases(layout: StackLayout, index: number, saturated: StackResult): Promise<LatencyResult[]> {
  const reference = stacks[0]?.goodput ?? saturated.goodput
  const results: LatencyResult[] = []
  for (const fraction of config.loadFractions) {
    const rate = Math.max(1, Math.round(fraction * reference))
    const result = await stackPhase(layout, 100 * (index + 1) + results.length, { rate, inFlight: 0 })
    results.push({ stack: saturated.name, fraction, result })
    console.log(
      `    at ${Math.round(100 * fraction)} % of ${fmt(reference)} req/s (${rate} req/s offered): goodput ${fmt(result.goodput)} req/s, ` +
        `p50 ${result.p50?.toFixed(0)} ms, p99 ${result.p99?.toFixed(0)} ms, mean batch ${result.meanBatch?.toFixed(2) ?? '—'}, ` +
        `errors in window ${result.errorsInWindow}; ${describeCpuPerAnswer(result)}`,
    )
  }
  return results
}

/** CPU milliseconds per answered request, per process kind: where each answer's core-milliseconds go. */
function cpuPerAnswer(s: StackResult): { gateway: number; replicas: number; loadTester: number } {
  const c = s.cores.perProcess
  const per = (cores: number) => (s.goodput > 0 ? (1000 * cores) / s.goodput : Number.NaN)
  return { gateway: per(c.gateway ?? 0), replicas: per(replicaCores(s)), loadTester: per(c['load tester'] ?? 0) }
}

function describeCpuPerAnswer(s: StackResult): string {
  const ms = cpuPerAnswer(s)
  return (
    `CPU ms per answer: gateway ${fmt(ms.gateway, 2)}, replicas ${fmt(ms.replicas, 2)}, ` +
    `load tester ${fmt(ms.loadTester, 2)}`
  )
}
console.log(
  `(b) the stack through the gateway, open loop at ${offered} req/s (${config.overload}× the bound, or of its images per CPU-second × ${CORES} cores if more), ` +
    `${config.warmUp} s warm-up, ${config.seconds} s measured, in flight at most ${config.inFlight === 'auto' ? '2 × slots + 2' : config.inFlight || 'unbounded'}`,
)
for (const [i, layout] of config.stackLayouts.entries()) {
  const result = await stackPhase(layout, i)
  stacks.push(result)
  console.log(
    `  ${result.name} [${describeStack(result.settings)}]: goodput ${fmt(result.goodput)} req/s = ${pct(result.ratio)} of the bound (${pct(result.cpuRatio)} per CPU-second), ` +
      `p50 ${result.p50?.toFixed(0)} ms, p99 ${result.p99?.toFixed(0)} ms, mean batch ${result.meanBatch?.toFixed(2) ?? '—'}, ` +
      `statuses ${JSON.stringify(result.byStatus)}\n    cores ${describeCores(result.cores)}\n    ${describeCpuPerAnswer(result)}`,
  )
  latencies.push(...(await latencyPhases(layout, i, result)))
}

// (c) ----------------------------------------------------------------------------------------------------------
const lines = [
  `# bench:e2e — ${started.toISOString()}`,
  '',
  `${CORES} cores (${cpus()[0]?.model}); load average at start ${load.map((l) => fmt(l, 2)).join(' / ')} (1/5/15 min).`,
  '',
  ...describeCpu(),
  '',
  '## (a) the bound: the replica pipeline bare, all cores',
  '',
  '| processes × intra-op threads | batch | in flight / process | sharp threads | images/s | mean batch | images per CPU-second | cores: pipelines / machine busy / others / idle |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...bounds.map(
    (b) =>
      `| ${b.layout.procs} × ${b.layout.threads} | ${b.layout.batch} | ${b.layout.inflight} | ${b.layout.sharp} | ` +
      `${b === best ? `**${fmt(b.imagesPerSecond)}**` : fmt(b.imagesPerSecond)} | ${fmt(b.meanBatch, 2)} | ` +
      `${fmt(b.imagesPerSecond / b.cores.ours)} | ` +
      `${fmt(b.cores.ours, 2)} / ${fmt(b.cores.busy, 2)} / ${fmt(b.cores.others, 2)} / ${fmt(b.cores.idle, 2)} |`,
  ),
  '',
  `## (b) the stack through the gateway, ${offered} req/s offered (${config.overload}× the bound or, if more, of its images per CPU-second × ${CORES} cores), ` +
    `the load tester keeping at most ${config.inFlight === 'auto' ? '2 × the replica slots + 2' : config.inFlight || 'unbounded'} in flight`,
  '',
  '| stack | replicas × threads | slots | batch | sharp | goodput (200/s) | (c) of the bound | (c) per CPU-second | p50 / p99 ms | mean batch | errors in window | statuses (whole phase; not_sent: held back by the in-flight cap) | answers per CPU-second: all ours / replicas | cores: gateway / replicas / load tester / others / idle |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |',
  ...stacks.map((s) => {
    const c = s.cores.perProcess
    const replicas = Object.entries(c)
      .filter(([k]) => k.startsWith('replica'))
      .map(([, v]) => fmt(v, 2))
    return (
      `| ${s.name} | ${s.settings.replicas} × ${s.settings.threads} | ${s.settings.slots} | ${s.settings.batch} | ${s.settings.sharp} | ` +
      `${fmt(s.goodput)} | ${pct(s.ratio)} | ${pct(s.cpuRatio)} | ${s.p50?.toFixed(0)} / ${s.p99?.toFixed(0)} | ${s.meanBatch?.toFixed(2) ?? '—'} | ${s.errorsInWindow} | ` +
      `${Object.entries(s.byStatus)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')} | ` +
      `${fmt(s.goodput / s.cores.ours)} / ${fmt(s.goodput / replicaCores(s))} | ` +
      `${fmt(c.gateway ?? 0, 2)} / ${replicas.join(' + ')} / ${fmt(c['load tester'] ?? 0, 2)} / ${fmt(s.cores.others, 2)} / ${fmt(s.cores.idle, 2)} |`
    )
  }),
  '',
  `Bound: ${fmt(bound)} img/s (${describeBound(best.layout)}), ${fmt(bound / best.cores.ours)} images per CPU-second. ` +
    'Target (c) ≥ 85 %. "(c) per CPU-second" divides each side by the CPU its own processes used (the stack: gateway, ' +
    'replicas and load tester): what (c) would be if both had the machine to themselves — read it when "others" is not ' +
    "near 0; when the stack leaves cores idle, it overstates. With the in-flight cap, a stack's latency is about " +
    "the cap over its goodput (Little's law), so more slots show more latency here by construction: latency under " +
    'real traffic is for bench:overload and the load tester.',
]
lines.push(...latencyAndCpuLines())
const othersMax = Math.max(...[...bounds, ...stacks].map((phase) => phase.cores.others))
if (othersMax > 0.1 * CORES) {
  lines.push(
    '',
    `Other processes took up to ${fmt(othersMax, 2)} of the ${CORES} cores during a phase (load average at the end ` +
      `${loadavg()
        .map((l) => fmt(l, 2))
        .join(' / ')}): the machine was shared, so (c) compares phases that had different shares of it; the per ` +
      'CPU-second column does not depend on that share.',
  )
}
mkdirSync(join(ROOT, 'out/bench'), { recursive: true })
writeFileSync(join(ROOT, 'out/bench/e2e.md'), `${lines.join('\n')}\n`)
writeFileSync(
  join(ROOT, 'out/bench/e2e.json'),
  `${JSON.stringify({ started, loadavg: load, cores: CORES, cpu: describeCpu(), config, bound, bounds, stacks, latencies }, null, 2)}\n`,
)
// The console already has the title and the CPU lines: from the first table on.
console.log(
  `\n${lines.slice(lines.findIndex((l) => l.startsWith('## '))).join('\n')}\n\nwritten: out/bench/e2e.md, out/bench/e2e.json`,
)

/** The report's sections for CPU per answer and, when measured, latency below saturation. */
function latencyAndCpuLines(): string[] {
  const out = [
    '',
    '## CPU milliseconds per answered request (cores used ÷ goodput), at saturation',
    '',
    '| stack | gateway | replicas | load tester |',
    '| --- | ---: | ---: | ---: |',
    ...stacks.map((s) => {
      const ms = cpuPerAnswer(s)
      return `| ${s.name} | ${fmt(ms.gateway, 2)} | ${fmt(ms.replicas, 2)} | ${fmt(ms.loadTester, 2)} |`
    }),
  ]
  if (latencies.length === 0) return out
  out.push(
    '',
    `## Latency below saturation (open loop, no in-flight cap; rates are fractions of the first stack's goodput, ${fmt(stacks[0]?.goodput ?? 0)} req/s)`,
    '',
    '| stack | load | offered req/s | goodput | p50 / p99 ms | mean batch | errors in window | CPU ms per answer: gateway / replicas |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...latencies.map(({ stack, fraction, result: r }) => {
      const ms = cpuPerAnswer(r)
      return (
        `| ${stack} | ${Math.round(100 * fraction)} % | ${r.offered} | ${fmt(r.goodput)} | ${r.p50?.toFixed(0)} / ${r.p99?.toFixed(0)} | ` +
        `${r.meanBatch?.toFixed(2) ?? '—'} | ${r.errorsInWindow} | ${fmt(ms.gateway, 2)} / ${fmt(ms.replicas, 2)} |`
      )
    }),
  )
  return out
}

function replicaCores(s: StackResult): number {
  return Object.entries(s.cores.perProcess)
    .filter(([k]) => k.startsWith('replica'))
    .reduce((sum, [, v]) => sum + v, 0)
}

function describeBound(l: BoundLayout): string {
  return `${l.procs} proc × ${l.threads} thread, batch ${l.batch}, ${l.inflight} in flight/proc, sharp ${l.sharp}`
}

function describeStack(s: StackResult['settings']): string {
  const lend = s.lend > s.slots ? `, up to ${s.lend} slots when queued` : ''
  return `${s.replicas} replicas × ${s.threads} thread, ${s.slots} slots${lend}, batch ${s.batch}, sharp ${s.sharp}`
}

function describeCores(c: ReturnType<typeof coresBetween>): string {
  const each = Object.entries(c.perProcess)
    .map(([name, v]) => `${name} ${fmt(v, 2)}`)
    .join(', ')
  return `${each}; machine busy ${fmt(c.busy, 2)}, others ${fmt(c.others, 2)}, idle ${fmt(c.idle, 2)}`
}
