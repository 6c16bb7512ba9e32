/**
 * `npm run bench:gateway` — Switchyard's gateway against nginx (least_conn, round-robin) and HAProxy (leastconn),
 * all on 127.0.0.1 in front of the same stub replicas, in one run:
 *
 * 1. Added latency at low load: p50/p99 through each proxy minus p50/p99 straight to the stub (110 KB bodies).
 * 2. Throughput with 110 KB bodies: closed loop, 32 clients, stubs that answer at once.
 * 3. Uneven pool at 80 % load: 3 replicas at 20 ms and one 3× slower (60 ms), one request at a time each,
 *    open-loop Poisson arrivals; p50/p99/max per proxy and policy.
 *
 * nginx and HAProxy come from Debian (`apt-get install nginx haproxy`); rows for a missing one are skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Pool, request } from 'undici'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { parse, setting } from '../../common/config.ts'
import { spawnService } from '../../common/service-process.ts'
import { someSampleImages } from '../../common/testing/sample-images.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { summarize } from '../../loadtester/src/stats.ts'
import { hasCommand, type RunningProxy, startHaproxy, startNginx } from './proxies.ts'

const options = configFromCommandLine(
  'bench:gateway',
  {
    baselineGateway: setting<string | undefined>({
      env: 'BENCH_BASELINE_GATEWAY',
      flag: 'baseline-gateway',
      description:
        "Another checkout's gateway/src/main.ts (a worktree of the commit before a change): runs beside this one in " +
        'every part, as "switchyard (baseline)", so before and after compare in one run',
      parse: parse.string(),
      default: undefined,
    }),
  },
  undefined,
  "Switchyard's gateway against nginx and HAProxy (when installed) in front of the same stub replicas: added latency,\n" +
    'throughput, an uneven pool at 80 % load. Needs the sample images (../shared/images/imagenet-sample); writes\n' +
    'out/bench/gateway.json.',
)

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

async function startBareNodeProxy(upstreams: string[]): Promise<RunningProxy> {
  const entry = fileURLToPath(new URL('./bare-node-proxy.ts', import.meta.url))
  const child = spawn(process.execPath, [entry, JSON.stringify(upstreams)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [message] = (await once(child, 'message')) as [{ url: string }]
  return { url: message.url, stop: () => stopChild(child) }
}

async function startSwitchyard(upstreams: string[], routing: string, slots = 1, entry?: string): Promise<RunningProxy> {
  const gateway = await spawnService('gateway', {
    entry,
    args: [
      '--discovery',
      'static',
      '--replicas',
      upstreams.join(','),
      '--routing',
      routing,
      '--replica-slots',
      String(slots),
      '--log-level',
      'warn',
      '--queue-max',
      '10000',
      '--queue-max-bytes',
      String(1e9),
    ],
  })
  // Wait until every stub has passed its readiness probe.
  for (;;) {
    const response = await request(`${gateway.url}/replicas`)
    const body = (await response.body.json()) as { ready: number }
    if (body.ready === upstreams.length) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url: gateway.url, stop: () => stopChild(gateway.child) }
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
  start: (upstreams: string[]) => Promise<RunningProxy>
  /** Which parts of the benchmark it runs in. */
  parts: ('latency' | 'throughput' | 'uneven')[]
}

const everywhere: Contender['parts'] = ['latency', 'throughput', 'uneven']
const contenders: Contender[] = [
  { name: 'switchyard least-outstanding', start: (u) => startSwitchyard(u, 'least-outstanding'), parts: everywhere },
  {
    name: 'switchyard least-outstanding, 2 slots',
    start: (u) => startSwitchyard(u, 'least-outstanding', 2),
    parts: ['uneven'],
  },
  { name: 'switchyard round-robin', start: (u) => startSwitchyard(u, 'round-robin'), parts: ['uneven'] },
  { name: 'switchyard random', start: (u) => startSwitchyard(u, 'random'), parts: ['uneven'] },
  { name: 'bare node proxy (reference)', start: startBareNodeProxy, parts: ['latency', 'throughput'] },
]
const baseline = options.baselineGateway
if (baseline) {
  contenders.splice(1, 0, {
    name: 'switchyard (baseline)',
    start: (u) => startSwitchyard(u, 'least-outstanding', 1, baseline),
    parts: everywhere,
  })
}
if (hasCommand('nginx')) {
  contenders.push(
    { name: 'nginx least_conn', start: (u) => startNginx(u, 'least_conn'), parts: everywhere },
    { name: 'nginx round-robin', start: (u) => startNginx(u, 'round-robin'), parts: ['uneven'] },
  )
} else console.log('nginx not found (apt-get install nginx): its rows are skipped')
if (hasCommand('haproxy')) {
  contenders.push(
    { name: 'haproxy leastconn', start: (u) => startHaproxy(u), parts: everywhere },
    { name: 'haproxy leastconn, maxconn 1', start: (u) => startHaproxy(u, 1), parts: ['uneven'] },
  )
} else console.log('haproxy not found (apt-get install haproxy): its rows are skipped')

const fmt = (n: number) => n.toFixed(2)
const results: Record<string, Record<string, unknown>> = {}
const resultFor = (name: string) => {
  results[name] ??= {}
  return results[name]
}
console.log(`gateway benchmark — ${cpus().length} cores, body ${BODY.length} bytes\n`)

// 1. Added latency at low load.
{
  const fleet = await startFleet([{ serviceMs: 5, mode: 'fifo' }])
  const direct = await openLoop(fleet.urls[0]!, 40, 10)
  console.log(`1. low load (40 req/s, one stub at 5 ms): direct p50 ${fmt(direct.p50)} ms, p99 ${fmt(direct.p99)} ms`)
  for (const contender of contenders.filter((c) => c.parts.includes('latency'))) {
    const proxy = await contender.start(fleet.urls)
    const through = await openLoop(proxy.url, 40, 10)
    await proxy.stop()
    const added = { p50: through.p50 - direct.p50, p99: through.p99 - direct.p99, errors: through.errors }
    resultFor(contender.name).addedLatency = added
    console.log(`   ${contender.name.padEnd(32)} added p50 ${fmt(added.p50)} ms, p99 ${fmt(added.p99)} ms`)
  }
  await stopChild(fleet.child)
}

// 2. Throughput with 110 KB bodies.
{
  const fleet = await startFleet(Array.from({ length: 4 }, () => ({ serviceMs: 0, mode: 'parallel' as const })))
  console.log('\n2. throughput, 110 KB bodies, 32 clients, 4 stubs answering at once:')
  for (const contender of contenders.filter((c) => c.parts.includes('throughput'))) {
    // The gateway gets 8 slots per stub here, so it is not the one limiting concurrency.
    const proxy = contender.name.startsWith('switchyard')
      ? await startSwitchyard(
          fleet.urls,
          'least-outstanding',
          8,
          contender.name.includes('baseline') ? baseline : undefined,
        )
      : await contender.start(fleet.urls)
    await closedLoop(proxy.url, 32, 1)
    const run = await closedLoop(proxy.url, 32, 8)
    await proxy.stop()
    resultFor(contender.name).throughput = run
    console.log(`   ${contender.name.padEnd(32)} ${run.rps.toFixed(0)} req/s (${run.errors} errors)`)
  }
  await stopChild(fleet.child)
}

// 3. Uneven pool at 80 % load.
{
  const specs = [20, 20, 20, 60].map((serviceMs) => ({ serviceMs, mode: 'fifo' as const }))
  const capacity = specs.reduce((sum, s) => sum + 1000 / s.serviceMs, 0)
  const rate = 0.8 * capacity
  console.log(
    `\n3. uneven pool (3 × 20 ms + 1 × 60 ms, one at a time each), ${rate.toFixed(0)} req/s = 80 % of capacity, 30 s Poisson:`,
  )
  for (const contender of contenders.filter((c) => c.parts.includes('uneven'))) {
    const fleet = await startFleet(specs)
    const proxy = await contender.start(fleet.urls)
    const run = await openLoop(proxy.url, rate, 30, 7)
    await proxy.stop()
    await stopChild(fleet.child)
    resultFor(contender.name).unevenPool = run
    console.log(
      `   ${contender.name.padEnd(32)} p50 ${fmt(run.p50)} ms, p99 ${fmt(run.p99)} ms, max ${fmt(run.max)} ms, errors ${run.errors}`,
    )
  }
}

const sy = results['switchyard least-outstanding']!
const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : 'n/a')
const uneven = (name: string) => (results[name]?.unevenPool as { p99: number } | undefined)?.p99
const rps = (name: string) => (results[name]?.throughput as { rps: number } | undefined)?.rps
console.log('\ntargets:')
console.log(`   added p50 ≤ 1 ms: ${fmt((sy.addedLatency as { p50: number }).p50)} ms`)
console.log(
  `   throughput ≥ 0.5 × nginx: ${ratio(rps('switchyard least-outstanding')!, rps('nginx least_conn'))} × (bare node proxy: ${ratio(rps('bare node proxy (reference)')!, rps('nginx least_conn'))} ×)`,
)
console.log(
  `   uneven p99 ≤ 0.5 × round-robin: ${ratio(uneven('switchyard least-outstanding')!, uneven('switchyard round-robin'))} ×`,
)
console.log(
  `   uneven p99 ≤ 0.8 × nginx least_conn: ${ratio(uneven('switchyard least-outstanding')!, uneven('nginx least_conn'))} ×`,
)
mkdirSync('out/bench', { recursive: true })
writeFileSync('out/bench/gateway.json', `${JSON.stringify(results, null, 2)}\n`)
console.log('\nwritten to out/bench/gateway.json')
