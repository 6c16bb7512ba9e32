/**
 * `npm run bench:upload-burst` — what an upload burst does to the gateway's memory: UPLOADS concurrent uploads of
 * UPLOAD_MIB each (default 200 × 10 MiB, the burst of issue 28) against a gateway over stub replicas (this is about
 * the gateway's own behaviour), while another client sends small good requests. Prints the peak RSS of the gateway
 * process (VmHWM from /proc) against its configured bound, the uploads' outcomes (200 / 503 / 413 / connection
 * closed), 503 `no_replica`, readiness probes missed, and the small requests' outcomes.
 * `--baseline /path/to/checkout` runs that checkout's gateway instead (e.g. main, for a before/after).
 */
import { execFileSync, fork } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { configFromCommandLine } from '../../common/command-line.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { spawnService } from '../../common/service-process.ts'
import { uploadBurstBenchSpec, uploadBurstBenchSummary } from './upload-burst-bench-config.ts'

const config = configFromCommandLine('bench:upload-burst', uploadBurstBenchSpec, undefined, uploadBurstBenchSummary)

const HERE = fileURLToPath(new URL('.', import.meta.url))
const MiB = 1024 * 1024

for (const line of describeCpu()) console.log(line)

// Two one-at-a-time stub replicas with a 50 ms service time: the queue fills, the gateway must shed.
const REPLICAS = 2
const SLOTS = 2
const fleet = fork(join(HERE, 'stub-fleet.ts'), [
  JSON.stringify(Array.from({ length: REPLICAS }, () => ({ serviceMs: 50, mode: 'fifo' }))),
])
const [fleetReady] = (await once(fleet, 'message')) as [{ urls: string[] }]

const logs = { probeMissed: 0, unroutable: 0 }
const gateway = await spawnService('gateway', {
  ...(config.baseline && { entry: join(config.baseline, 'gateway/src/main.ts') }),
  args: [
    ...['--discovery', 'static', '--replicas', fleetReady.urls.join(','), '--autoscaler', 'none'],
    ...['--replica-slots', String(SLOTS)],
  ],
  env: { ...process.env, LOG_FORMAT: 'json' },
  onLog: (line) => {
    if (line.includes('readiness probe got no answer')) logs.probeMissed++
    if (line.includes('"routable":false')) logs.unroutable++
  },
})
await untilOk(`${gateway.url}/readyz`, 'the gateway')
const pid = gateway.child.pid!
const gatewayHelp = boundsOf(
  config.baseline ? join(config.baseline, 'gateway/src/main.ts') : join(HERE, '../src/main.ts'),
)

const status = () => readFileSync(`/proc/${pid}/status`, 'utf8')
const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status())?.[1] ?? Number.NaN) * 1024
const rssBefore = kib('VmRSS')
let rssPeakSampled = rssBefore
const sampler = setInterval(() => {
  rssPeakSampled = Math.max(rssPeakSampled, kib('VmRSS'))
}, 20)

const body = Buffer.alloc(Math.round(config.uploadMiB * MiB), 0xff)
const uploads = new Agent({ connections: config.uploads, pipelining: 1 })
const smallClient = new Agent({ connections: 16 })
const small = Buffer.alloc(2048, 7)

type Outcome = string
const count = (outcomes: Outcome[]) => {
  const counts: Record<string, number> = {}
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1
  return counts
}
const outcomeOf = async (send: () => Promise<Awaited<ReturnType<typeof request>>>): Promise<Outcome> => {
  try {
    const response = await send()
    const text = await response.body.text()
    if (response.statusCode === 200) return '200'
    const code = /"code":"(\w+)"/.exec(text)?.[1] ?? '?'
    // Which bound a queue_full refusal was about: bodies arriving at once, or the queue itself (the SLO's refusal
    // has its own code, would_miss_deadline).
    const why = text.includes('receiving') ? ' (receiving)' : ''
    return `${response.statusCode} ${code}${why}`
  } catch (error) {
    return `no answer (${(error as { code?: string }).code ?? (error as Error).message})`
  }
}

let bursting = true
const good: Promise<Outcome>[] = []
const goodLoop = (async () => {
  while (bursting) {
    good.push(
      outcomeOf(() =>
        request(`${gateway.url}/predict`, {
          method: 'POST',
          dispatcher: smallClient,
          body: small,
          headers: { 'content-type': 'image/jpeg' },
        }),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, config.goodEveryMs))
  }
})()

const chunkedEvery = config.chunkedShare > 0 ? Math.round(1 / config.chunkedShare) : 0
const started = performance.now()
const burst = await Promise.all(
  Array.from({ length: config.uploads }, (_, i) =>
    outcomeOf(() =>
      request(`${gateway.url}/predict`, {
        method: 'POST',
        dispatcher: uploads,
        // An async iterable has no length: undici sends it chunked.
        body: chunkedEvery > 0 && i % chunkedEvery === 0 ? Readable.from(chunks(body)) : body,
        headers: { 'content-type': 'image/jpeg' },
      }),
    ),
  ),
)
const burstSeconds = (performance.now() - started) / 1000
// Good requests go on a little after the burst: the gateway must be routable again at once.
await new Promise((resolve) => setTimeout(resolve, 1000))
bursting = false
await goodLoop
const goodOutcomes = await Promise.all(good)
clearInterval(sampler)
const rssPeak = kib('VmHWM')
gateway.child.kill('SIGTERM')
await gateway.exited
fleet.kill('SIGTERM')
await Promise.all([uploads.close(), smallClient.close()])

const burstCounts = count(burst)
const noReplica = [...burst, ...goodOutcomes].filter((o) => o.includes('no_replica')).length
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`
console.log(`\ngateway: ${config.baseline ?? 'this checkout'}; its body bounds: ${gatewayHelp}`)
console.log(
  `burst: ${config.uploads} concurrent uploads of ${config.uploadMiB} MiB (${chunkedEvery > 0 ? `1 in ${chunkedEvery} chunked` : 'all with Content-Length'}), over in ${burstSeconds.toFixed(1)} s`,
)
// What the configuration lets bodies take: queued and arriving (QUEUE_MAX_BYTES), plus one per replica slot in flight.
const boundOf = (key: string) => Number(new RegExp(`${key}=(\\d+)`).exec(gatewayHelp)?.[1])
const bodiesBound = boundOf('QUEUE_MAX_BYTES') + REPLICAS * SLOTS * boundOf('MAX_BODY_BYTES')
console.log(
  `peak gateway RSS ${mib(rssPeak)} (VmHWM; sampled VmRSS peak ${mib(rssPeakSampled)}); ${mib(rssBefore)} before the burst + ` +
    `bodies bound ${mib(bodiesBound)} (QUEUE_MAX_BYTES + ${REPLICAS * SLOTS} in flight × MAX_BODY_BYTES) = ${mib(rssBefore + bodiesBound)}: ` +
    `peak at ${((rssPeak / (rssBefore + bodiesBound)) * 100).toFixed(0)} % of it`,
)
console.log(`uploads: ${JSON.stringify(burstCounts)}`)
console.log(
  `503 no_replica: ${noReplica}; readiness probes unanswered ${logs.probeMissed}, replicas made unroutable ${logs.unroutable}`,
)
console.log(
  `good small requests (1 every ${config.goodEveryMs} ms, another client): ${goodOutcomes.length} sent, ${JSON.stringify(count(goodOutcomes))}`,
)

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += 256 * 1024) yield bytes.subarray(at, at + 256 * 1024)
}

/** The gateway's byte and connection bounds at their defaults, as its --help states them (either checkout). */
function boundsOf(entry: string): string {
  const help = execFileSync(process.execPath, [entry, '--help'], { encoding: 'utf8' })
  const wanted = ['QUEUE_MAX_BYTES', 'MAX_BODY_BYTES', 'MAX_RECEIVING_BYTES', 'MAX_CONNECTIONS']
  return help
    .split('\n')
    .flatMap((line) => {
      const key = wanted.find((k) => line.includes(` ${k} `))
      const value = /\[([^\]]*)\]\s*$/.exec(line)?.[1]
      return key && value ? [`${key}=${value}`] : []
    })
    .join(' ')
}
