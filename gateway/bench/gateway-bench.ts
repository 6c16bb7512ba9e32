/**
 * `npm run bench:gateway` — Switchyard's gateway against nginx (least_conn, round-robin) and HAProxy (leastconn),
 * all on 127.0.0.1 in front of the same stub replicas, in one run:
 *
 * 1. Added latency at low load: p50/p99 through each proxy minus p50/p99 straight to the stub (110 KB bodies).
 * 2. Throughput with 110 KB bodies: closed loop, 32 clients, stubs that answer at once.
 * 3. Uneven pool at 80 % load: 3 replicas at 20 ms and one 3× slower (60 ms), one request at a time each,
 *    open-loop Poisson arrivals; p50/p99/max per proxy and policy.
 *
 * Each part runs --runs times (contenders in the opposite order every other run: the first one measures slower), and
 * the summary shows every run and the best, with the ratios the targets name. --cpu-prof DIR profiles the gateway in
 * one more throughput run and prints its top frames.
 * nginx and HAProxy come from Debian (`apt-get install nginx haproxy`); rows for a missing one are skipped.
 * The gateway runs with its default logging (an access-log line per request, read from its stdout by this process);
 * nginx logs access to a file; HAProxy and the bare reference proxies log nothing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool, request } from 'undici'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { processCpuSeconds } from '../../common/measure/process-cpu.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { spawnService } from '../../common/service-process.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { summarize } from '../../loadtester/src/stats.ts'
import { type CpuProfile, formatSummary } from './cpu-profile-summary.ts'
import { gatewayBenchSpec, gatewayBenchSummary, PARTS, type Part } from './gateway-bench-config.ts'
import { hasCommand, type RunningProxy, startHaproxy, startNginx } from './proxies.ts'

const options = configFromCommandLine('bench:gateway', gatewayBenchSpec, undefined, gatewayBenchSummary)

// 110 KB of real JPEG bytes (the size of a typical upload); stubs and proxies never decode them.
const BODY = dataOrExit(() => Buffer.concat(someSampleImages(3, 1).map((i) => i.bytes())).subarray(0, 110 * 1024))
const HEADERS = { 'content-type': 'image/jpeg' }

interface Fleet {
  urls: string[]
  child: ChildProcess
}

async function startFleet(specs: { serviceMs: number; mode: 'fifo' | 'parallel' }[]): Promise<Fleet> {
  const entry = fileURLToPath(new URL('./stub-fleet.ts', import.meta.url))
  const child = spawn(process.execPath, [entry, JSON.stringify(specs)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [message] = (await once(child, 'message')) as [{ urls: string[] }]
  return { urls: message.urls, child }
}

async function stopChild(child: ChildProcess) {
  child.kill('SIGTERM')
  await once(child, 'exit')
}

/** One of the bench's reference proxies (bare-node-proxy.ts, bare-fastify-proxy.ts), in its own process. */
async function startReferenceProxy(file: string, upstreams: string[], nodeArgs: string[] = []): Promise<RunningProxy> {
  const entry = fileURLToPath(new URL(file, import.meta.url))
  const child = spawn(process.execPath, [...nodeArgs, entry, JSON.stringify(upstreams)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [message] = (await once(child, 'message')) as [{ url: string }]
  return { url: message.url, stop: () => stopChild(child), pid: child.pid }
}

const startBareNodeProxy = (upstreams: string[], nodeArgs?: string[]) =>
  startReferenceProxy('./bare-node-proxy.ts', upstreams, nodeArgs)

async function startSwitchyard(
  upstreams: string[],
  routing: string,
  slots = 1,
  entry?: string,
  nodeArgs?: string[],
): Promise<RunningProxy> {
  const gateway = await spawnService('gateway', {
    entry,
    nodeArgs,
    args: [
      '--discovery',
      'static',
      '--replicas',
      upstreams.join(','),
      '--routing',
      routing,
      '--replica-slots',
      String(slots),
      '--queue-max',
      '10000',
      '--queue-max-bytes',
      String(1e9),
      // The load tester may hold 4096 requests at once: the byte and connection bounds stay out of its way too
      // (in a baseline checkout that has them).
      ...(knowsFlag(entry, '--max-connections')
        ? ['--max-receiving-bytes', String(1e9), '--max-connections', '100000']
        : []),
    ],
  })
  // Wait until every stub has passed its readiness probe.
  for (;;) {
    const response = await request(`${gateway.url}/replicas`)
    const body = (await response.body.json()) as { ready: number }
    if (body.ready === upstreams.length) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url: gateway.url, stop: () => stopChild(gateway.child), pid: gateway.child.pid }
}

/** Open loop (the load tester): Poisson arrivals at `rate`/s for `seconds`; latency from the intended send time. */
async function openLoop(url: string, rate: number, seconds: number, seed = 1) {
  const result = await runLoad({
    target: url,
    workload: Array.from({ length: seconds }, (_, s) => Math.round(rate * (s + 1)) - Math.round(rate * s)),
    arrival: 'poisson',
    seed,
    images: [{ name: 'body.jpg', bytes: BODY, truth: undefined }],
    timeoutMs: 10_000,
    concurrencyCap: 4096,
    pollReplicas: false,
  })
  const summary = summarize(result.records, [], 500, result.durationS)
  const latency = summary.latency_ms ?? { p50: Number.NaN, p99: Number.NaN, max: Number.NaN }
  const errors = summary.sent + summary.not_sent - (summary.by_status['200'] ?? 0)
  return { p50: latency.p50, p99: latency.p99, max: latency.max, errors, count: summary.by_status['200'] ?? 0 }
}

/** Closed loop: `clients` send back to back for `seconds`; requests per second. */
async function closedLoop(url: string, clients: number, seconds: number) {
  const pool = new Pool(url, { connections: clients })
  const until = performance.now() + seconds * 1000
  let done = 0
  let errors = 0
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        try {
          const response = await pool.request({ path: '/predict', method: 'POST', body: BODY, headers: HEADERS })
          await response.body.dump()
          if (response.statusCode === 200) done++
          else errors++
        } catch {
          errors++
        }
      }
    }),
  )
  await pool.close()
  return { rps: done / seconds, errors }
}

type Contender = {
  name: string
  start: (upstreams: string[], part: Part) => Promise<RunningProxy>
  /** Which parts of the benchmark it runs in. */
  parts: Part[]
}

/** The gateway contenders: in the throughput part each gets 8 slots per stub, so it does not limit concurrency. */
const switchyard =
  (routing: string, slots = 1, entry?: string) =>
  (upstreams: string[], part: Part) =>
    startSwitchyard(upstreams, routing, part === 'throughput' ? 8 : slots, entry)

const SWITCHYARD = 'switchyard least-outstanding'
const BASELINE = 'switchyard (baseline)'
const BARE = 'bare node proxy (reference)'
const BARE_FASTIFY = 'bare fastify proxy (reference)'
const NGINX = 'nginx least_conn'
const everywhere: Part[] = [...PARTS]
const contenders: Contender[] = [
  { name: SWITCHYARD, start: switchyard('least-outstanding'), parts: everywhere },
  { name: 'switchyard least-outstanding, 2 slots', start: switchyard('least-outstanding', 2), parts: ['uneven'] },
  { name: 'switchyard round-robin', start: switchyard('round-robin'), parts: ['uneven'] },
  { name: 'switchyard random', start: switchyard('random'), parts: ['uneven'] },
  { name: BARE, start: (u) => startBareNodeProxy(u), parts: ['latency', 'throughput'] },
  {
    name: BARE_FASTIFY,
    start: (u) => startReferenceProxy('./bare-fastify-proxy.ts', u),
    parts: ['latency', 'throughput'],
  },
]
const baseline = options.baselineGateway
if (baseline) {
  contenders.splice(1, 0, { name: BASELINE, start: switchyard('least-outstanding', 1, baseline), parts: everywhere })
}
if (hasCommand('nginx')) {
  contenders.push(
    { name: NGINX, start: (u) => startNginx(u, 'least_conn'), parts: everywhere },
    { name: 'nginx round-robin', start: (u) => startNginx(u, 'round-robin'), parts: ['uneven'] },
  )
} else console.log('nginx not found (apt-get install nginx): its rows are skipped')
if (hasCommand('haproxy')) {
  contenders.push(
    { name: 'haproxy leastconn', start: (u) => startHaproxy(u), parts: everywhere },
    { name: 'haproxy leastconn, maxconn 1', start: (u) => startHaproxy(u, 1), parts: ['uneven'] },
  )
} else console.log('haproxy not found (apt-get install haproxy): its rows are skipped')
/** The uneven pool's runs after the first: only what its target compares (30 s per contender and run). */
const UNEVEN_REPEATED = new Set([SWITCHYARD, BASELINE, NGINX])

const report: string[] = []
const say = (line = '') => {
  console.log(line)
  report.push(line)
}
const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(2))
const { runs } = options
/** Run r (0-based) goes through the contenders forwards when r is even, backwards when odd. */
const inRunOrder = <T>(list: T[], run: number) => (run % 2 === 0 ? list : [...list].reverse())
const taking = (part: Part) => contenders.filter((c) => c.parts.includes(part))

interface Added {
  p50: number
  p99: number
  errors: number
}
interface Throughput {
  rps: number
  errors: number
  /** The proxy process's CPU time (user + system) per request answered, µs: less swayed by a busy machine. */
  cpuUsPerRequest?: number
}
type Uneven = Awaited<ReturnType<typeof openLoop>>
const added = new Map<string, Added[]>()
const throughput = new Map<string, Throughput[]>()
const unevenRuns = new Map<string, Uneven[]>()
const record = <T>(map: Map<string, T[]>, name: string, value: T) => map.set(name, [...(map.get(name) ?? []), value])

const [load1, load5, load15] = loadavg()
say(
  `gateway benchmark — ${new Date().toISOString()}, load average ${[load1, load5, load15].map((l) => l!.toFixed(2)).join(' ')}`,
)
for (const line of describeCpu()) say(line)
say(`body ${BODY.length} bytes, ${runs} run(s) per part, parts: ${options.parts.join(', ')}`)
say(`contenders: ${contenders.map((c) => c.name).join('; ')}\n`)

// 1. Added latency at low load.
/** Closed loop, 2 clients, before each proxy's measured run: about 1,000 requests through a 5 ms stub. */
const LATENCY_WARM_UP_S = 5
if (options.parts.includes('latency')) {
  const fleet = await startFleet([{ serviceMs: 5, mode: 'fifo' }])
  say(
    `1. added latency at low load (40 req/s for 10 s after ${LATENCY_WARM_UP_S} s of warm-up, one stub at 5 ms), through minus direct in the same run:`,
  )
  for (let run = 0; run < runs; run++) {
    const direct = await openLoop(fleet.urls[0]!, 40, 10)
    say(`   run ${run + 1}: direct p50 ${fmt(direct.p50)} ms, p99 ${fmt(direct.p99)} ms`)
    for (const contender of inRunOrder(taking('latency'), run)) {
      const proxy = await contender.start(fleet.urls, 'latency')
      // Warmed first, as the throughput part is: a proxy in service has run its hot path far more than 400 times,
      // and a cold one measures its JIT (more code to compile penalises the larger proxy), not its steady cost.
      await closedLoop(proxy.url, 2, LATENCY_WARM_UP_S)
      const through = await openLoop(proxy.url, 40, 10)
      await proxy.stop()
      const result = { p50: through.p50 - direct.p50, p99: through.p99 - direct.p99, errors: through.errors }
      record(added, contender.name, result)
      say(
        `     ${contender.name.padEnd(38)} added p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, errors ${result.errors}`,
      )
    }
  }
  await stopChild(fleet.child)
}

// 2. Throughput with 110 KB bodies.
let profileSummary: string | undefined
if (options.parts.includes('throughput')) {
  const fleet = await startFleet(Array.from({ length: 4 }, () => ({ serviceMs: 0, mode: 'parallel' as const })))
  say('\n2. throughput, 110 KB bodies, closed loop, 32 clients for 8 s (after 1 s warm-up), 4 stubs answering at once:')
  for (let run = 0; run < runs; run++) {
    say(`   run ${run + 1}:`)
    for (const contender of inRunOrder(taking('throughput'), run)) {
      const proxy = await contender.start(fleet.urls, 'throughput')
      const { rps, errors, cpuUsPerRequest } = await measureThroughput(proxy)
      await proxy.stop()
      const result = { rps, errors, cpuUsPerRequest }
      record(throughput, contender.name, result)
      const cpu = cpuUsPerRequest === undefined ? '' : `, ${cpuUsPerRequest.toFixed(0)} µs CPU/request`
      say(`     ${contender.name.padEnd(38)} ${result.rps.toFixed(0)} req/s (${result.errors} errors${cpu})`)
    }
  }
  if (options.cpuProf) {
    const dir = resolve(options.cpuProf)
    mkdirSync(dir, { recursive: true })
    // The bare proxy profiled the same way: what the runtime itself costs per request, beside the gateway.
    const profiled: [string, (nodeArgs: string[]) => Promise<RunningProxy>][] = [
      [SWITCHYARD, (nodeArgs) => startSwitchyard(fleet.urls, 'least-outstanding', 8, undefined, nodeArgs)],
      [BARE, (nodeArgs) => startBareNodeProxy(fleet.urls, nodeArgs)],
    ]
    const summaries: string[] = []
    for (const [contender, start] of profiled) {
      const name = `${contender.split(' ')[0]}-throughput-${Date.now()}.cpuprofile`
      const proxy = await start(['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`])
      const result = await measureThroughput(proxy)
      await proxy.stop()
      const profile = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile
      summaries.push(
        `profiled run of ${contender} (under --cpu-prof, not counted above): ${result.rps.toFixed(0)} req/s\n` +
          `${join(dir, name)} (start-up included)\n${formatSummary(profile, 15, result.warmUp + result.count)}`,
      )
      say(`\n   ${summaries.at(-1)!.split('\n').join('\n   ')}`)
    }
    profileSummary = summaries.join('\n\n')
  }
  await stopChild(fleet.child)
}

// 3. Uneven pool at 80 % load.
if (options.parts.includes('uneven')) {
  const specs = [20, 20, 20, 60].map((serviceMs) => ({ serviceMs, mode: 'fifo' as const }))
  const capacity = specs.reduce((sum, s) => sum + 1000 / s.serviceMs, 0)
  const rate = 0.8 * capacity
  say(
    `\n3. uneven pool (3 × 20 ms + 1 × 60 ms, one at a time each), ${rate.toFixed(0)} req/s = 80 % of capacity, 30 s Poisson:`,
  )
  for (let run = 0; run < runs; run++) {
    say(`   run ${run + 1}:`)
    const these = taking('uneven').filter((c) => run === 0 || UNEVEN_REPEATED.has(c.name))
    for (const contender of inRunOrder(these, run)) {
      const fleet = await startFleet(specs)
      const proxy = await contender.start(fleet.urls, 'uneven')
      const result = await openLoop(proxy.url, rate, 30, 7 + run)
      await proxy.stop()
      await stopChild(fleet.child)
      record(unevenRuns, contender.name, result)
      say(
        `     ${contender.name.padEnd(38)} p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, max ${fmt(result.max)} ms, errors ${result.errors}`,
      )
    }
  }
}

/** The best run by `key` (smallest, or largest with `largest`), and every run's value. */
function best<T>(runsOf: T[] | undefined, key: (t: T) => number, largest = false) {
  if (!runsOf?.length) return undefined
  const values = runsOf.map(key)
  return { best: largest ? Math.max(...values) : Math.min(...values), all: values }
}
/** a / b, or undefined when b is missing or not above 0 (a difference of two noisy p50s can be). */
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !(b > 0) ? undefined : a / b
/** Side-by-side ratios run by run (same conditions), as text. */
const perRun = (a: number[] | undefined, b: number[] | undefined) =>
  a && b ? a.map((x, i) => fmt(ratio(x, b[i]))).join(', ') : 'n/a'
const verdict = (value: number | undefined, ok: (v: number) => boolean) =>
  value === undefined ? '' : ok(value) ? ' — met' : ' — NOT met'

say('\nsummary (best of the runs; every run in brackets):')
for (const contender of contenders) {
  const cells: string[] = []
  const p50 = best(added.get(contender.name), (r) => r.p50)
  const p99 = best(added.get(contender.name), (r) => r.p99)
  if (p50 && p99) {
    cells.push(
      `added p50 ${fmt(p50.best)} [${p50.all.map(fmt).join(', ')}] ms, p99 ${fmt(p99.best)} [${p99.all.map(fmt).join(', ')}] ms`,
    )
  }
  const rps = best(throughput.get(contender.name), (r) => r.rps, true)
  if (rps) cells.push(`${rps.best.toFixed(0)} [${rps.all.map((v) => v.toFixed(0)).join(', ')}] req/s`)
  const cpu = best(
    throughput.get(contender.name)?.filter((r) => r.cpuUsPerRequest !== undefined),
    (r) => r.cpuUsPerRequest!,
  )
  if (cpu) cells.push(`${cpu.best.toFixed(0)} [${cpu.all.map((v) => v.toFixed(0)).join(', ')}] µs CPU/request`)
  const uneven = best(unevenRuns.get(contender.name), (r) => r.p99)
  if (uneven) cells.push(`uneven p99 ${fmt(uneven.best)} [${uneven.all.map(fmt).join(', ')}] ms`)
  if (cells.length > 0) say(`   ${contender.name.padEnd(38)} ${cells.join('; ')}`)
}

const gateways = [SWITCHYARD, ...(baseline ? [BASELINE] : [])]
say('\ntargets (best against best; run by run in brackets):')
for (const gateway of gateways) {
  if (gateways.length > 1) say(`   ${gateway}:`)
  const addedOf = (name: string) => added.get(name)?.map((r) => r.p50)
  const rpsOf = (name: string) => throughput.get(name)?.map((r) => r.rps)
  const unevenOf = (name: string) => unevenRuns.get(name)?.map((r) => r.p99)
  const min = (values: number[] | undefined) => (values?.length ? Math.min(...values) : undefined)
  const max = (values: number[] | undefined) => (values?.length ? Math.max(...values) : undefined)
  // A difference of two p50s: on a busy machine the bare proxy's can come out at or below 0, and a ratio to it means nothing.
  const bareAdded = min(addedOf(BARE))
  const addedRatio = bareAdded !== undefined && bareAdded > 0 ? ratio(min(addedOf(gateway)), bareAdded) : undefined
  say(
    `   added p50 ≤ 1.2 × the bare Node proxy's: ${fmt(addedRatio)} × [${perRun(addedOf(gateway), addedOf(BARE))}]${verdict(addedRatio, (v) => v <= 1.2)}` +
      (bareAdded !== undefined && bareAdded <= 0
        ? ' (the bare proxy added ≤ 0 ms: too noisy to compare, run it again)'
        : ''),
  )
  const rpsRatio = ratio(max(rpsOf(gateway)), max(rpsOf(BARE)))
  say(
    `   throughput ≥ 0.75 × the bare Node proxy's: ${fmt(rpsRatio)} × [${perRun(rpsOf(gateway), rpsOf(BARE))}]${verdict(rpsRatio, (v) => v >= 0.75)}` +
      ` (against nginx: ${fmt(ratio(max(rpsOf(gateway)), max(rpsOf(NGINX))))} ×; the bare proxy: ${fmt(ratio(max(rpsOf(BARE)), max(rpsOf(NGINX))))} ×)`,
  )
  const cpuOf = (name: string) => throughput.get(name)?.map((r) => r.cpuUsPerRequest ?? Number.NaN)
  say(
    `   (CPU per request at full throughput, against the bare Node proxy's: ${fmt(ratio(min(cpuOf(gateway)), min(cpuOf(BARE))))} × [${perRun(cpuOf(gateway), cpuOf(BARE))}];` +
      ` the bare Fastify proxy's against the bare Node proxy's: ${fmt(ratio(min(cpuOf(BARE_FASTIFY)), min(cpuOf(BARE))))} ×)`,
  )
  const unevenRatio = ratio(min(unevenOf(gateway)), min(unevenOf(NGINX)))
  say(
    `   uneven p99 ≤ 0.8 × nginx least_conn's: ${fmt(unevenRatio)} × [${perRun(unevenOf(gateway), unevenOf(NGINX))}]${verdict(unevenRatio, (v) => v <= 0.8)}`,
  )
}
mkdirSync('out/bench', { recursive: true })
const json = Object.fromEntries(
  contenders.map((c) => [
    c.name,
    { addedLatency: added.get(c.name), throughput: throughput.get(c.name), unevenPool: unevenRuns.get(c.name) },
  ]),
)
writeFileSync(
  'out/bench/gateway.json',
  `${JSON.stringify({ cpu: describeCpu(), settings: { runs, parts: options.parts, load: [load1, load5, load15] }, results: json, profile: profileSummary }, null, 2)}\n`,
)
writeFileSync('out/bench/gateway.txt', `${report.join('\n')}\n`)
console.log('\nwritten to out/bench/gateway.json and out/bench/gateway.txt')

/** 1 s of warm-up, then 8 s measured; also how many requests were answered in all (for per-request costs). */
async function measureThroughput(proxy: RunningProxy) {
  const warm = await closedLoop(proxy.url, 32, 1)
  const cpuBefore = cpuSeconds(proxy.pid)
  const run = await closedLoop(proxy.url, 32, 8)
  const cpuAfter = cpuSeconds(proxy.pid)
  const count = run.rps * 8
  const cpuUsPerRequest =
    cpuBefore === undefined || cpuAfter === undefined || count === 0
      ? undefined
      : (1e6 * (cpuAfter - cpuBefore)) / count
  return { ...run, count, warmUp: warm.rps, cpuUsPerRequest }
}

/** User + system CPU seconds a process has used (Linux /proc; undefined elsewhere or without a pid). */
function cpuSeconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : processCpuSeconds(pid)
}

/** Whether the gateway at `entry` (default: this checkout's) takes a command-line flag, from its --help. */
function knowsFlag(entry: string | undefined, flag: string): boolean {
  const main = entry ?? fileURLToPath(new URL('../src/main.ts', import.meta.url))
  return execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8' }).includes(flag)
}
