/**
 * `npm run bench:replica` — how close the replica over HTTP gets to what onnxruntime + sharp can do bare.
 *
 * 1. Bare bounds, from onnxruntime and sharp timed alone at the replica's thread count: the 1-core bound
 *    (one core does preprocessing and inference in turn) and the overlapped bound (onnxruntime alone).
 * 2. The replica as its own process, over HTTP, at saturation (closed loop, enough concurrency to keep it busy),
 *    for several batch settings. Images/s, and the ratios to (1).
 * 3. Latency p50/p99 at 50 % of the default setting's saturation, open-loop Poisson arrivals.
 * 4. Every model the replica serves (resnet18, darknet-tiny when ../shared/models has it), at saturation, side by side.
 * With --compare NAME@V1,NAME@V2 it compares versions (fp32 and int8) instead: see version-compare.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import ort from 'onnxruntime-node'
import { Pool } from 'undici'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { processCpuSeconds } from '../../common/measure/process-cpu.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { spawnReplica } from '../../common/service-process.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { summarize } from '../../loadtester/src/stats.ts'
import { buildUntrainedResnet18 } from '../src/model/resnet18-graph.ts'
import { IMAGENET_PREPROCESS, imageToTensor } from '../src/preprocess.ts'
import { replicaBenchSpec, replicaBenchSummary } from './replica-bench-config.ts'
import { compareVersions } from './version-compare.ts'

const config = configFromCommandLine('bench:replica', replicaBenchSpec, undefined, replicaBenchSummary)

const THREADS = 1
const IMAGES = dataOrExit(() => someSampleImages(64, 13).map((i) => i.bytes()))
const spec = { ...IMAGENET_PREPROCESS, maxInputPixels: 40_000_000 }

/** What onnxruntime and sharp cost per image with no HTTP, no queue, no worker thread, at this batch size. */
async function bareCosts(batchSize: number) {
  const session = await ort.InferenceSession.create(buildUntrainedResnet18(18).bytes, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  })
  let t = performance.now()
  let cpu = process.cpuUsage()
  const tensors: Float32Array[] = []
  for (const image of IMAGES.slice(0, 48)) tensors.push(await imageToTensor(image, spec))
  const preprocessMsPerImage = (performance.now() - t) / 48
  const preprocessCpuMsPerImage = cpuMsSince(cpu) / 48
  const data = new Float32Array(batchSize * tensors[0]!.length)
  for (let i = 0; i < batchSize; i++) data.set(tensors[i]!, i * tensors[0]!.length)
  const feeds = { input: new ort.Tensor('float32', data, [batchSize, 3, 224, 224]) }
  await session.run(feeds)
  const runs = Math.ceil(48 / batchSize)
  t = performance.now()
  cpu = process.cpuUsage()
  for (let i = 0; i < runs; i++) await session.run(feeds)
  const inferenceMsPerImage = (performance.now() - t) / runs / batchSize
  const inferenceCpuMsPerImage = cpuMsSince(cpu) / runs / batchSize
  await session.release()
  return {
    inferenceMsPerImage,
    preprocessMsPerImage,
    /** CPU time (every thread of this process), not wall time: what a shared machine does not inflate as much. */
    inferenceCpuMsPerImage,
    preprocessCpuMsPerImage,
    /** One core does both, one image after another: the budget of a 1-CPU replica. */
    oneCoreBound: 1000 / (inferenceMsPerImage + preprocessMsPerImage),
    /** Preprocessing entirely hidden on another core: onnxruntime alone. */
    overlapBound: 1000 / inferenceMsPerImage,
  }
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

const bodies = await Promise.all(IMAGES.map((image) => imageUpload(image)))

function send(pool: Pool, i: number, path = '/predict') {
  const { body, contentType } = bodies[i % bodies.length]!
  return pool.request({ path, method: 'POST', body, headers: { 'content-type': contentType } }).then(async (r) => {
    await r.body.dump()
    if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}`)
  })
}

/** Closed loop with `concurrency` clients for `count` requests: the replica never waits for work. */
async function saturation(url: string, concurrency: number, count: number, path = '/predict'): Promise<number> {
  return (await saturationWithCpu(url, concurrency, count, undefined, path)).rate
}

/** Saturation, and the CPU ms per image of process `pid` (the replica: all its threads) over the same requests. */
async function saturationWithCpu(url: string, concurrency: number, count: number, pid?: number, path = '/predict') {
  const pool = new Pool(url, { connections: concurrency })
  for (let i = 0; i < concurrency; i++) await send(pool, i, path)
  let next = 0
  const cpuBefore = pid === undefined ? undefined : processCpuSeconds(pid)
  const t = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await send(pool, next++, path)
    }),
  )
  const rate = count / ((performance.now() - t) / 1000)
  const cpuAfter = pid === undefined ? undefined : processCpuSeconds(pid)
  await pool.close()
  const cpuMsPerImage =
    cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / count
  return { rate, cpuMsPerImage }
}

/** Open loop (the load tester): Poisson arrivals at `rate`/s for `seconds`, latency from the intended send time. */
async function openLoop(url: string, rate: number, seconds: number) {
  const result = await runLoad({
    target: url,
    workload: Array.from({ length: seconds }, (_, s) => Math.round(rate * (s + 1)) - Math.round(rate * s)),
    arrival: 'poisson',
    seed: 42,
    images: IMAGES.map((bytes, i) => ({ name: `image-${i}.jpg`, bytes, truth: undefined })),
    timeoutMs: 30_000,
    concurrencyCap: 1024,
    pollReplicas: false,
  })
  const summary = summarize(result.records, [], 500, result.durationS)
  const latency = summary.latency_ms!
  const errors = summary.sent + summary.not_sent - (summary.by_status['200'] ?? 0)
  return { requests: summary.sent, errors, p50: latency.p50, p99: latency.p99, max: latency.max }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits)
const cpu = describeCpu()
console.log(`replica benchmark — onnxruntime threads ${THREADS}`)
console.log(`${cpu.join('\n')}\n`)

if (config.compare.length > 0) {
  const figures = await compareVersions(config.compare, config, IMAGES, (line) => console.log(line))
  // Each version against the first one listed of the same model.
  const firstOf = (f: (typeof figures)[number]) =>
    figures.find((g) => g.selector.split('@')[0] === f.selector.split('@')[0])!
  const rows = [
    [
      'version',
      'precision',
      'inference img/CPU-s b1',
      'b8',
      'replica answers/s',
      'replica answers/CPU-s',
      'vs the first listed version of its model',
    ],
    ...figures.map((f, _, __, first = firstOf(f)) => [
      f.selector,
      f.precision,
      fmt(f.inferencePerCpuSecond[1]!),
      fmt(f.inferencePerCpuSecond[8]!),
      fmt(f.replica.perSecond),
      fmt(f.replica.perCpuSecond),
      `${fmt(f.inferencePerCpuSecond[8]! / first.inferencePerCpuSecond[8]!, 2)}× inference b8, ${fmt(f.replica.perCpuSecond / first.replica.perCpuSecond, 2)}× replica`,
    ]),
  ]
  console.log(`\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`)
  mkdirSync('out/bench', { recursive: true })
  writeFileSync('out/bench/replica-compare.json', `${JSON.stringify({ cpu, figures }, null, 2)}\n`)
  console.log('\nwritten to out/bench/replica-compare.json')
  process.exit(0)
}

const results: Record<string, unknown> = { cpu }
const bare: Record<number, Awaited<ReturnType<typeof bareCosts>>> = {}
/** The least CPU each stage took over every bare run (the least disturbed); preprocessing does not depend on the batch. */
const leastCpu = { preprocess: Number.POSITIVE_INFINITY, inference: {} as Record<number, number> }
for (const batch of [1, 4, 8]) {
  // Best of three: on a shared machine the fastest run is the least disturbed one.
  const runs = [await bareCosts(batch), await bareCosts(batch), await bareCosts(batch)]
  const costs = runs.reduce((best, run) => (run.oneCoreBound > best.oneCoreBound ? run : best))
  bare[batch] = costs
  leastCpu.inference[batch] = Math.min(...runs.map((run) => run.inferenceCpuMsPerImage))
  leastCpu.preprocess = Math.min(leastCpu.preprocess, ...runs.map((run) => run.preprocessCpuMsPerImage))
  console.log(
    `bare, batch ${batch}: inference ${fmt(costs.inferenceMsPerImage)} ms/img (CPU ${fmt(costs.inferenceCpuMsPerImage)}), ` +
      `preprocess ${fmt(costs.preprocessMsPerImage)} ms/img (CPU ${fmt(costs.preprocessCpuMsPerImage)})` +
      ` → 1-core bound ${fmt(costs.oneCoreBound)} img/s, overlapped bound ${fmt(costs.overlapBound)} img/s`,
  )
}
const bound = bare[4]!.oneCoreBound
const overlapBound = bare[4]!.overlapBound
results.bare = bare
console.log(`reference: bare 1-core bound at batch 4 = ${fmt(bound)} img/s\n`)

const settings: { name: string; batch: number; args: string[] }[] = [
  { name: 'batch 1', batch: 1, args: ['--max-batch-size', '1'] },
  { name: 'batch 4, wait 0 ms (default)', batch: 4, args: ['--max-batch-size', '4', '--max-batch-wait-ms', '0'] },
  { name: 'batch 4, wait 5 ms', batch: 4, args: ['--max-batch-size', '4', '--max-batch-wait-ms', '5'] },
  { name: 'batch 8, wait 0 ms', batch: 8, args: ['--max-batch-size', '8', '--max-batch-wait-ms', '0'] },
]
const http: Record<string, unknown> = {}
const breakdowns: string[] = []

/**
 * Where the replica's CPU per image goes: the bare stages (this process, the least CPU time over the bare runs; the
 * inference at the setting's largest batch, which the replica reaches at saturation) and the rest, which only the
 * replica pays: HTTP and multipart, the request's JSON, the batcher, the messages to and from the inference thread.
 */
function breakdown(name: string, batch: number, replicaCpuMs: number): string {
  const preprocess = leastCpu.preprocess
  const inference = leastCpu.inference[batch] ?? leastCpu.inference[4]!
  const rest = replicaCpuMs - preprocess - inference
  const share = (ms: number) => `${fmt((100 * ms) / replicaCpuMs, 0)} %`
  return (
    `| ${name} | ${fmt(replicaCpuMs)} | ${fmt(preprocess)} (${share(preprocess)}) | ` +
    `${fmt(inference)} (${share(inference)}) | ${fmt(rest)} (${share(rest)}) |`
  )
}
let defaultRate = 0
let defaultUrl = ''
let stopDefault: (() => void) | undefined
for (const setting of settings) {
  const replica = await spawnReplica({
    args: [...setting.args, '--max-queue', '256', '--max-inflight', '256', '--log-level', 'warn'],
  })
  const { rate, cpuMsPerImage } = await saturationWithCpu(replica.url, 12, 240, replica.child.pid)
  http[setting.name] = {
    imagesPerSecond: rate,
    ofOneCoreBound: rate / bound,
    ofOverlapBound: rate / overlapBound,
    cpuMsPerImage,
  }
  console.log(
    `replica over HTTP, ${setting.name}: ${fmt(rate)} img/s = ${fmt((100 * rate) / bound, 0)} % of the 1-core bound, ` +
      `${fmt((100 * rate) / overlapBound, 0)} % of the overlapped bound; ${cpuMsPerImage === undefined ? '' : `${fmt(cpuMsPerImage)} CPU ms per image`}`,
  )
  if (cpuMsPerImage !== undefined) breakdowns.push(breakdown(setting.name, setting.batch, cpuMsPerImage))
  if (setting.name.includes('default')) {
    defaultRate = rate
    defaultUrl = replica.url
    stopDefault = () => replica.child.kill('SIGTERM')
  } else {
    replica.child.kill('SIGTERM')
    await replica.exited
  }
}
results.http = http
console.log(
  [
    '\nCPU ms per image in the replica process over HTTP at saturation, against the bare stages timed above (the least CPU time over the runs):',
    '| setting | replica, all threads | preprocessing (sharp + normalise) | inference | the rest: HTTP, multipart, batcher, thread messages |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...breakdowns,
  ].join('\n'),
)

const halfLoad = await openLoop(defaultUrl, defaultRate / 2, 20)
console.log(
  `\nat 50 % load (${fmt(defaultRate / 2)} req/s, Poisson, 20 s, default settings): ` +
    `p50 ${fmt(halfLoad.p50)} ms, p99 ${fmt(halfLoad.p99)} ms, max ${fmt(halfLoad.max)} ms, errors ${halfLoad.errors}`,
)
results.halfLoad = { rate: defaultRate / 2, ...halfLoad }

const served = (await (await fetch(`${defaultUrl}/models`)).json()) as {
  models: { name: string; pretrained: boolean }[]
}
const perModel: Record<string, number> = {}
console.log('\nper model, default settings, at saturation (same replica process, one after the other):')
for (const model of served.models) {
  perModel[model.name] = await saturation(defaultUrl, 12, 240, `/predict?model=${encodeURIComponent(model.name)}`)
  const ratio = perModel[model.name]! / perModel[served.models[0]!.name]!
  console.log(
    `  ${model.name}${model.pretrained ? '' : ' (untrained)'}: ${fmt(perModel[model.name]!)} img/s (${fmt(ratio, 2)}× ${served.models[0]!.name})`,
  )
}
results.perModel = perModel
stopDefault?.()

mkdirSync('out/bench', { recursive: true })
writeFileSync('out/bench/replica.json', `${JSON.stringify(results, null, 2)}\n`)
console.log('\nwritten to out/bench/replica.json')
