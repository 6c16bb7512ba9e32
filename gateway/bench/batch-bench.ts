/**
 * `npm run bench:batch` — what a running batch job costs interactive requests, and what interactive load costs the
 * batch, on one real stack (gateway + local replicas, the load tester in its own process), in interleaved rounds:
 *
 * - alone: interactive requests, open loop (Poisson) at 50 % of the capacity measured first; their p99.
 * - with batch: the same load while a batch job runs on the same model; the interactive p99, and the batch's
 *   images/s over the same window.
 * - batch only: the batch's images/s with no interactive load.
 *
 * Target (issue 21): interactive p99 with a batch ≤ 1.2 × without (median of the per-round ratios).
 */
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { call, postImage, postJson } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { percentile } from '../../common/percentile.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { spawnService } from '../../common/service-process.ts'
import { batchBenchSpec, batchBenchSummary } from './batch-bench-config.ts'
import { type RequestRow, runLoadPhase } from './load-phase.ts'

const config = configFromCommandLine('bench:batch', batchBenchSpec, undefined, batchBenchSummary)
dataOrExit(() => sampleImages())
for (const line of describeCpu()) console.log(line)

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'out/bench/batch')
const WARM_UP_S = 2
mkdirSync(OUT, { recursive: true })

const gateway = await spawnService('gateway', {
  args: [
    ...['--discovery', 'local', '--local-replicas', String(config.replicas), '--autoscaler', 'none'],
    ...['--data-dir', mkdtempSync(join(tmpdir(), 'switchyard-bench-batch-'))],
    ...(config.batchConcurrency > 0 ? ['--batch-concurrency', String(config.batchConcurrency)] : []),
    ...(config.reservedSlots >= 0 ? ['--low-priority-reserved-slots', String(config.reservedSlots)] : []),
  ],
})
await untilOk(`${gateway.url}/readyz`, 'the gateway')
while ((await call(`${gateway.url}/replicas`)).body.ready < config.replicas) await once(gateway.child.stdout!, 'data')

const interactiveFlags = ['--model', config.model]
const capacity = await closedLoopCapacity(4 * config.replicas, 10)
const rate = Math.max(1, Math.round(capacity * config.load))
console.error(`capacity ${capacity.toFixed(1)} req/s of ${config.model}; interactive load ${rate} req/s`)

interface Round {
  round: number
  p99_alone_ms: number
  p99_with_batch_ms: number
  ratio: number
  batch_images_per_s_alone: number
  batch_images_per_s_with_load: number
  interactive_errors: { alone: number; with_batch: number }
}

const rounds: Round[] = []
for (let round = 1; round <= config.rounds; round++) {
  const alone = await interactive(round, 'alone')
  const withBatch = await withRunningBatch(() => interactive(round, 'with-batch'))
  const batchOnly = await withRunningBatch(() => delay(config.seconds * 1000))
  const p99Alone = p99(alone)
  const p99With = p99(withBatch.result)
  rounds.push({
    round,
    p99_alone_ms: p99Alone,
    p99_with_batch_ms: p99With,
    ratio: p99With / p99Alone,
    batch_images_per_s_alone: batchOnly.imagesPerSecond,
    batch_images_per_s_with_load: withBatch.imagesPerSecond,
    interactive_errors: { alone: errors(alone), with_batch: errors(withBatch.result) },
  })
  console.error(JSON.stringify(rounds.at(-1)))
}
gateway.child.kill('SIGTERM')
await gateway.exited

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length / 2
  return sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const summary = {
  cpu: describeCpu(),
  model: config.model,
  replicas: config.replicas,
  seconds: config.seconds,
  capacity_rps: capacity,
  interactive_rps: rate,
  median_ratio: median(rounds.map((r) => r.ratio)),
  target_ratio: 1.2,
  median_batch_images_per_s: {
    alone: median(rounds.map((r) => r.batch_images_per_s_alone)),
    with_interactive_load: median(rounds.map((r) => r.batch_images_per_s_with_load)),
  },
  rounds,
}
writeFileSync(join(ROOT, 'out/bench/batch.json'), `${JSON.stringify(summary, null, 2)}\n`)
console.log(
  `\n${config.model}, ${config.replicas} replicas, capacity ${capacity.toFixed(1)} req/s, interactive ${rate} req/s ` +
    `(${Math.round(config.load * 100)} %), ${config.seconds} s phases\n`,
)
console.log('round  p99 alone ms  p99 with batch ms  ratio  batch img/s alone  batch img/s with load  errors')
for (const r of rounds) {
  console.log(
    `${String(r.round).padStart(5)}  ${r.p99_alone_ms.toFixed(1).padStart(12)}  ${r.p99_with_batch_ms.toFixed(1).padStart(17)}  ` +
      `${r.ratio.toFixed(2).padStart(5)}  ${r.batch_images_per_s_alone.toFixed(1).padStart(17)}  ` +
      `${r.batch_images_per_s_with_load.toFixed(1).padStart(21)}  ${r.interactive_errors.alone}/${r.interactive_errors.with_batch}`,
  )
}
console.log(
  `\nmedian p99 ratio ${summary.median_ratio.toFixed(2)} (target ≤ 1.2); batch ${summary.median_batch_images_per_s.alone.toFixed(1)} ` +
    `img/s alone, ${summary.median_batch_images_per_s.with_interactive_load.toFixed(1)} img/s beside interactive load\n` +
    'written: out/bench/batch.json',
)

/**
 * Capacity: `clients` closed-loop clients, each sending the next image as soon as the last is answered (the replicas
 * always have work, nothing is refused); answers per second after a warm-up.
 */
async function closedLoopCapacity(clients: number, seconds: number): Promise<number> {
  const images = sampleImages()
  const start = performance.now()
  const [from, until] = [start + WARM_UP_S * 1000, start + seconds * 1000]
  let answered = 0
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let n = client; performance.now() < until; n += clients) {
        const answer = await postImage(
          `${gateway.url}/predict?model=${config.model}`,
          images[n % images.length]!.bytes(),
          {
            'x-timeout-ms': '60000',
          },
        )
        if (answer.status === 200 && performance.now() >= from && performance.now() <= until) answered++
      }
    }),
  )
  return answered / (seconds - WARM_UP_S)
}

function p99(rows: RequestRow[]): number {
  return percentile(
    rows.filter((r) => r.status === '200').map((r) => r.latency),
    0.99,
  )
}

function errors(rows: RequestRow[]): number {
  return rows.filter((r) => r.status !== '200').length
}

async function interactive(round: number, kind: string): Promise<RequestRow[]> {
  const dir = join(OUT, `${round}-${kind}`)
  const rows = await runLoadPhase({
    target: gateway.url,
    rate,
    seconds: config.seconds,
    dir,
    seed: round,
    flags: interactiveFlags,
  })
  await emptyQueue()
  return rows
}

/**
 * Runs `during` while batch jobs on the whole dataset run back to back (the next starts when one ends, the last is
 * cancelled after), and measures their images/s over the same time.
 */
async function withRunningBatch<T>(during: () => Promise<T>): Promise<{ result: T; imagesPerSecond: number }> {
  const ids: string[] = []
  let stopped = false
  const status = async (id: string) => (await call(`${gateway.url}/batch/${id}`)).body
  const feeder = (async () => {
    while (!stopped) {
      const created = await postJson(`${gateway.url}/batch`, { model: config.model, dataset: 'imagenet-sample' })
      if (created.status !== 202) throw new Error(`POST /batch: ${created.status} ${JSON.stringify(created.body)}`)
      ids.push(created.body.id)
      while (!stopped && ['queued', 'running'].includes((await status(created.body.id)).status)) await delay(100)
    }
  })()
  const done = async () => {
    let sum = 0
    for (const id of ids) sum += (await status(id)).progress.done as number
    return sum
  }
  // Counted once a job is running steadily, not from its first image.
  while ((await done()) < 5) await delay(50)
  const [startDone, startAt] = [await done(), performance.now()]
  const result = await during()
  const [endDone, endAt] = [await done(), performance.now()]
  stopped = true
  await feeder
  await call(`${gateway.url}/batch/${ids.at(-1)}`, { method: 'DELETE' })
  await emptyQueue()
  return { result, imagesPerSecond: (endDone - startDone) / ((endAt - startAt) / 1000) }
}

async function emptyQueue(): Promise<void> {
  while ((await call(`${gateway.url}/queue`)).body.size > 0) await delay(200)
}
