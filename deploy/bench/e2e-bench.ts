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
 * After each stack, --load-fractions adds open-loop latency phases below saturation (shares of the first stack's
 * goodput), and every stack reports CPU milliseconds per answer per process.
 * With --precision fp32,int8 it does all of this for each precision, the int8 side serving ResNet18 quantised by
 * `npm run model:quantize` (made once into out/bench/e2e/int8/, promoted in a registry of its own), and prints the two
 * side by side.
 * Every phase also prints the cores each process used (utime + stime from /proc over the measured window), the
 * machine's idle cores and what other processes took: where the difference between (a) and (b) goes.
 *
 * It lives in deploy/ because it measures the deployment of the whole stack on one machine (gateway, replicas, load
 * tester together, as deploy/stack assembles them) and its result sets defaults of two components.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { type CpuSample, childPids, coresBetween, sampleCpu } from '../../common/measure/process-cpu.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { type ServiceProcess, spawnService } from '../../common/service-process.ts'
import { runLoadPhase } from '../../gateway/bench/load-phase.ts'
import { loadGatewayConfig } from '../../gateway/src/config.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import { CORES, e2eBenchSpec, e2eBenchSummary } from './e2e-bench-config.ts'
import { type Int8Setup, prepareInt8Resnet18 } from './int8-version.ts'
import type { PipelineDone, PipelineGo, PipelineSetup } from './pipeline-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'out/bench/e2e')
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

const config = configFromCommandLine('bench:e2e', e2eBenchSpec, undefined, e2eBenchSummary)
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
const cpu = describeCpu()
console.log(`bench:e2e — ${started.toISOString()}, load average ${load.map((l) => fmt(l, 2)).join(' ')}`)
console.log(`${cpu.join('\n')}\n`)

// (a) ----------------------------------------------------------------------------------------------------------
const PIPELINE = fileURLToPath(new URL('./pipeline-process.ts', import.meta.url))
const BOUND_WARM_UP_MS = 3000

interface BoundResult {
  layout: BoundLayout
  imagesPerSecond: number
  meanBatch: number
  cores: ReturnType<typeof coresBetween>
}

async function boundPhase(layout: BoundLayout, int8: Int8Setup | undefined): Promise<BoundResult> {
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
    ...(int8 && { model: { modelsDir: int8.modelsDir, version: int8.version } }),
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

/** One precision's measurements: its bound, its stacks measured against it, and their latency below saturation. */
interface Side {
  precision: 'fp32' | 'int8'
  int8: Int8Setup | undefined
  bounds: BoundResult[]
  best: BoundResult
  bound: number
  offered: number
  stacks: StackResult[]
  latencies: LatencyResult[]
}

/** What a side's stacks run against: its precision's model and bound, before any stack is measured. */
type SideBound = Omit<Side, 'stacks' | 'latencies'>

async function boundsFor(precision: Side['precision'], int8: Int8Setup | undefined) {
  const bounds: BoundResult[] = []
  console.log(`(a) ${precision}: the bound: the replica pipeline bare (serveModel + sharp, no HTTP), all cores`)
  for (const partial of config.boundLayouts) {
    const layout: BoundLayout = { procs: CORES, threads: 1, batch: 4, inflight: 8, sharp: 1, ...partial }
    const result = await boundPhase(layout, int8)
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
  return { bounds, best, bound, offered }
}

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
  side: SideBound,
  load?: { rate: number; inFlight: number },
): Promise<StackResult> {
  const { bound, best, offered, int8 } = side
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
  if (int8) {
    // The replicas serve the int8 version too; resnet18 requests go to it, production in this registry.
    env.MODELS_DIR = int8.modelsDir
    env.MODEL_REGISTRY_FILE = int8.registryFile
  }

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
  if (int8) await expectVersion(gateway.url, int8.version)
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
    dir: join(OUT, `stack-${side.precision}-${index + 1}`),
    seed: index + 1,
    // Clients that wait (a long deadline, sent): the gateway refuses nothing for time, and the in-flight cap keeps
    // its queue short but never empty — the stack's capacity, not its shedding (bench:overload measures that).
    flags: [
      ...['--timeout-ms', '60000', '--send-deadline', 'true'],
      ...(inFlight > 0 ? ['--concurrency-cap', String(inFlight)] : []),
      ...(int8 ? ['--model', 'resnet18'] : []),
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

interface LatencyResult {
  stack: string
  /** Which of --stack-layouts: the same stack of another precision is its counterpart. */
  index: number
  fraction: number
  result: StackResult
}

/**
 * Latency under load below saturation: open loop (Poisson) at each --load-fractions share of the goodput of the
 * side's first stack, no in-flight cap (the stack's own queue and admission see real traffic); p50/p99 over the window.
 */
async function latencyPhases(
  layout: StackLayout,
  index: number,
  side: SideBound,
  reference: number,
  saturated: StackResult,
): Promise<LatencyResult[]> {
  const results: LatencyResult[] = []
  for (const fraction of config.loadFractions) {
    const rate = Math.max(1, Math.round(fraction * reference))
    const result = await stackPhase(layout, 100 * (index + 1) + results.length, side, { rate, inFlight: 0 })
    results.push({ stack: saturated.name, index, fraction, result })
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

/** A side's stacks at saturation, each followed by its latency phases (rates relative to the side's first stack). */
async function stacksFor(side: SideBound): Promise<Pick<Side, 'stacks' | 'latencies'>> {
  const stacks: StackResult[] = []
  const latencies: LatencyResult[] = []
  console.log(
    `(b) ${side.precision}: the stack through the gateway, open loop at ${side.offered} req/s (${config.overload}× the bound, or of its images per CPU-second × ${CORES} cores if more), ` +
      `${config.warmUp} s warm-up, ${config.seconds} s measured, in flight at most ${config.inFlight === 'auto' ? '2 × slots + 2' : config.inFlight || 'unbounded'}`,
  )
  for (const [i, layout] of config.stackLayouts.entries()) {
    const result = await stackPhase(layout, i, side)
    stacks.push(result)
    console.log(
      `  ${result.name} [${describeStack(result.settings)}]: goodput ${fmt(result.goodput)} req/s = ${pct(result.ratio)} of the bound (${pct(result.cpuRatio)} per CPU-second), ` +
        `p50 ${result.p50?.toFixed(0)} ms, p99 ${result.p99?.toFixed(0)} ms, mean batch ${result.meanBatch?.toFixed(2) ?? '—'}, ` +
        `statuses ${JSON.stringify(result.byStatus)}\n    cores ${describeCores(result.cores)}\n    ${describeCpuPerAnswer(result)}`,
    )
    latencies.push(...(await latencyPhases(layout, i, side, stacks[0]!.goodput, result)))
  }
  console.log('')
  return { stacks, latencies }
}

/** The stack answers resnet18 with the int8 version: otherwise the int8 figures would be fp32's. */
async function expectVersion(gatewayUrl: string, version: string): Promise<void> {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(sampleImages()[0]!.bytes())]), 'probe.jpg')
  const response = await fetch(`${gatewayUrl}/predict?model=resnet18`, { method: 'POST', body: form })
  const body = (await response.json()) as { model?: { version?: string } }
  if (body.model?.version !== version) {
    throw new Error(`the int8 stack answered resnet18 with ${JSON.stringify(body.model)}, not version ${version}`)
  }
}

const sides: Side[] = []
for (const precision of config.precisions) {
  const int8 =
    precision === 'int8'
      ? await prepareInt8Resnet18(join(OUT, 'int8'), join(ROOT, '../shared/images'), pino({ level: 'error' }))
      : undefined
  const measured = { precision, int8, ...(await boundsFor(precision, int8)) }
  sides.push({ ...measured, ...(await stacksFor(measured)) })
}

// (c) ----------------------------------------------------------------------------------------------------------
function sideLines({ precision, bounds, best, bound, offered, stacks }: Side): string[] {
  return [
    `## (a) ${precision}: the bound: the replica pipeline bare, all cores`,
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
    `## (b) ${precision}: the stack through the gateway, ${offered} req/s offered (${config.overload}× the bound or, if more, of its images per CPU-second × ${CORES} cores), ` +
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
    `Bound (${precision}): ${fmt(bound)} img/s (${describeBound(best.layout)}), ${fmt(bound / best.cores.ours)} images per CPU-second.`,
    '',
  ]
}

/**
 * fp32 and int8 next to each other: bound, each stack at saturation and at each --load-fractions share of its own
 * side's first stack, and the ratios per CPU-second to the first precision's counterpart.
 */
function sideBySide(all: readonly Side[]): string[] {
  if (all.length < 2) return []
  const [base] = all
  const perCpu = (s: StackResult) => s.goodput / s.cores.ours
  const vsBase = (s: StackResult, counterpart: StackResult | undefined) =>
    counterpart ? `${fmt(perCpu(s) / perCpu(counterpart), 2)}×` : '—'
  const row = (side: Side, what: string, s: StackResult, counterpart: StackResult | undefined) =>
    `| ${side.precision} | ${what} | ${fmt(s.goodput)} | ${fmt(perCpu(s))} | ${pct(s.goodput / side.bound)} | ` +
    `${s.p50?.toFixed(0)} / ${s.p99?.toFixed(0)} | ${vsBase(s, counterpart)} |`
  const rows = all.flatMap((side) => [
    `| ${side.precision} | bound | ${fmt(side.bound)} | ${fmt(side.bound / side.best.cores.ours)} | — | — | ` +
      `${fmt(side.bound / side.best.cores.ours / (base!.bound / base!.best.cores.ours), 2)}× |`,
    ...side.stacks.flatMap((s, i) => [
      row(side, s.name, s, base!.stacks[i]),
      ...side.latencies
        .filter((l) => l.index === i)
        .map((l) =>
          row(
            side,
            `${l.stack} at ${Math.round(100 * l.fraction)} % load`,
            l.result,
            base!.latencies.find((b) => b.index === i && b.fraction === l.fraction)?.result,
          ),
        ),
    ]),
  ])
  return [
    `## Precisions side by side (ResNet18 ${all.map((side) => side.int8?.version ?? 'as provisioned').join(' vs ')})`,
    '',
    `| precision | what | img/s (goodput) | per CPU-second (all our processes) | of its bound | p50 / p99 ms | per CPU-second vs ${base!.precision} |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ]
}

const allPhases = sides.flatMap((side) => [...side.bounds, ...side.stacks, ...side.latencies.map((l) => l.result)])
const lines = [
  `# bench:e2e — ${started.toISOString()}`,
  '',
  ...cpu,
  '',
  `Load average at start ${load.map((l) => fmt(l, 2)).join(' / ')} (1/5/15 min).`,
  '',
  ...sideBySide(sides),
  ...sides.flatMap((side) => [...sideLines(side), ...latencyAndCpuLines(side)]),
  'Target (c) ≥ 85 %. "(c) per CPU-second" divides each side by the CPU its own processes used (the stack: gateway, ' +
    'replicas and load tester): what (c) would be if both had the machine to themselves — read it when "others" is not ' +
    "near 0; when the stack leaves cores idle, it overstates. With the in-flight cap, a stack's latency is about " +
    "the cap over its goodput (Little's law), so more slots show more latency here by construction: latency under " +
    'real traffic is for bench:overload and the load tester.',
]
const othersMax = Math.max(...allPhases.map((phase) => phase.cores.others))
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
  `${JSON.stringify({ started, loadavg: load, cpu, cores: CORES, config, sides }, null, 2)}\n`,
)
// The console already has the title and the CPU lines: from the first table on.
console.log(
  `\n${lines.slice(lines.findIndex((l) => l.startsWith('## '))).join('\n')}\n\nwritten: out/bench/e2e.md, out/bench/e2e.json`,
)

/** A side's sections for CPU per answer and, when measured, latency below saturation. */
function latencyAndCpuLines({ precision, stacks, latencies }: Side): string[] {
  const out = [
    `## ${precision}: CPU milliseconds per answered request (cores used ÷ goodput), at saturation`,
    '',
    '| stack | gateway | replicas | load tester |',
    '| --- | ---: | ---: | ---: |',
    ...stacks.map((s) => {
      const ms = cpuPerAnswer(s)
      return `| ${s.name} | ${fmt(ms.gateway, 2)} | ${fmt(ms.replicas, 2)} | ${fmt(ms.loadTester, 2)} |`
    }),
  ]
  if (latencies.length > 0) {
    out.push(
      '',
      `## ${precision}: latency below saturation (open loop, no in-flight cap; rates are fractions of the first ${precision} stack's goodput, ${fmt(stacks[0]?.goodput ?? 0)} req/s)`,
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
  }
  out.push('')
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
