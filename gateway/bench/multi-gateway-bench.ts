/**
 * `npm run bench:gateways` — N gateways over one replica pool against one gateway taking all the traffic, in one run:
 * the uneven pool (stubs 3 × 20 ms + 1 × 60 ms, one request at a time each) at 80 % of its capacity, Poisson
 * arrivals, each gateway with static discovery over the same four stubs and its own load tester process (the traffic
 * split evenly, as a Kubernetes Service would). Three set-ups per run, each on a fresh stub fleet:
 *
 *   1 gateway                 — takes all the traffic (stubs refuse when full, which one gateway never triggers)
 *   2 gateways                — stubs refuse a second request at once (503 replica_full, as a real replica does
 *                               at MAX_INFLIGHT); the gateways learn from it
 *   2 gateways, no refusal    — stubs queue whatever they get (capacity unlimited): what the gateways' own counts
 *                               and X-Replica-Inflight alone achieve
 *
 * Target: p99(2 gateways) ≤ 1.25 × p99(1 gateway), 0 errors.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { configFromCommandLine } from '../../common/command-line.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { percentile } from '../../common/percentile.ts'
import { spawnService } from '../../common/service-process.ts'
import { type RequestRow, runLoadPhase } from './load-phase.ts'
import { multiGatewayBenchSpec, multiGatewayBenchSummary } from './multi-gateway-bench-config.ts'

const options = configFromCommandLine('bench:gateways', multiGatewayBenchSpec, undefined, multiGatewayBenchSummary)

const SERVICE_MS = [20, 20, 20, 60]
const CAPACITY = SERVICE_MS.reduce((sum, ms) => sum + 1000 / ms, 0)
const RATE = options.load * CAPACITY

interface Setup {
  name: string
  gateways: number
  /** The stubs' MAX_INFLIGHT; undefined = no limit. */
  maxInflight: number | undefined
}

const SETUPS: Setup[] = [
  { name: '1 gateway', gateways: 1, maxInflight: 1 },
  { name: '2 gateways', gateways: 2, maxInflight: 1 },
  { name: '2 gateways, holds 2', gateways: 2, maxInflight: 2 },
  { name: '2 gateways, no refusal', gateways: 2, maxInflight: undefined },
]

interface Outcome {
  setup: string
  run: number
  requests: number
  p50: number
  p99: number
  max: number
  errors: number
  /** Per gateway: requests it got, its p99. */
  perGateway: { requests: number; p99: number }[]
  /** Refusals the gateways took (gateway_replica_full_total), per request. */
  refusalsPerRequest: number
  retries: number
}

/** Per-second counts of a Poisson process at `rate`/s split across `targets`, each second's total kept exact. */
export function splitWorkload(rate: number, seconds: number, targets: number): number[][] {
  const totals = Array.from({ length: seconds }, (_, s) => Math.round(rate * (s + 1)) - Math.round(rate * s))
  return Array.from({ length: targets }, (_, t) =>
    totals.map((total, s) => Math.floor(total / targets) + ((s + t) % targets < total % targets ? 1 : 0)),
  )
}

async function startFleet(maxInflight: number | undefined): Promise<{ urls: string[]; child: ChildProcess }> {
  const specs = SERVICE_MS.map((serviceMs) => ({ serviceMs, mode: 'fifo' as const, maxInflight }))
  const entry = fileURLToPath(new URL('./stub-fleet.ts', import.meta.url))
  const child = spawn(process.execPath, [entry, JSON.stringify(specs)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [message] = (await once(child, 'message')) as [{ urls: string[] }]
  return { urls: message.urls, child }
}

async function startGateway(upstreams: string[]) {
  const gateway = await spawnService('gateway', {
    args: [
      ...['--discovery', 'static', '--replicas', upstreams.join(','), '--routing', 'least-outstanding'],
      ...['--replica-slots', '1', '--log-level', 'warn', '--queue-max', '10000', '--queue-max-bytes', String(1e9)],
      ...['--autoscaler', 'none'],
    ],
  })
  for (;;) {
    const body = (await (await request(`${gateway.url}/replicas`)).body.json()) as { ready: number }
    if (body.ready === upstreams.length) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return gateway
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return
  child.kill('SIGTERM')
  await once(child, 'exit')
}

function latencyStats(rows: RequestRow[]) {
  const ok = rows.filter((r) => r.status === '200').map((r) => r.latency)
  ok.sort((a, b) => a - b)
  return {
    p50: percentile(ok, 0.5),
    p99: percentile(ok, 0.99),
    max: ok.at(-1) ?? Number.NaN,
    errors: rows.length - ok.length,
  }
}

async function runSetup(setup: Setup, run: number): Promise<Outcome> {
  const fleet = await startFleet(setup.maxInflight)
  const gateways = await Promise.all(Array.from({ length: setup.gateways }, () => startGateway(fleet.urls)))
  try {
    const workloads = splitWorkload(RATE, options.seconds, setup.gateways)
    const phases = await Promise.all(
      gateways.map((gateway, i) =>
        runLoadPhase({
          target: gateway.url,
          rate: 0,
          workload: workloads[i]!,
          seconds: options.seconds,
          dir: join(options.out, 'gateways', `run${run}-${setup.name.replace(/[^a-z0-9]+/gi, '-')}-${i}`),
          // Different arrivals per gateway, the same ones for the same run of every set-up's first gateway.
          seed: 1000 * run + i + 1,
          // The budget is sent (X-Timeout-Ms), so the gateways admit everything and latency shows what queues where.
          flags: ['--timeout-ms', '20000', '--send-deadline', 'true'],
        }),
      ),
    )
    let refusals = 0
    let retries = 0
    for (const gateway of gateways) {
      const text = await (await request(`${gateway.url}/metrics`)).body.text()
      refusals += metric(text, 'gateway_replica_full_total')
      retries += metric(text, 'gateway_retries_total')
    }
    const all = phases.flat()
    return {
      setup: setup.name,
      run,
      requests: all.length,
      ...latencyStats(all),
      perGateway: phases.map((rows) => ({ requests: rows.length, p99: latencyStats(rows).p99 })),
      refusalsPerRequest: refusals / Math.max(1, all.length),
      retries,
    }
  } finally {
    await Promise.all(gateways.map((g) => stop(g.child)))
    await stop(fleet.child)
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
const started = new Date()
const load = loadavg().map((l) => l.toFixed(2))
const header = [
  `# bench:gateways — ${started.toISOString()}`,
  '',
  ...describeCpu(),
  `Node ${process.version}, load average at start ${load.join(' / ')}`,
  `Stub pool ${SERVICE_MS.map((ms) => `${ms} ms`).join(' + ')}, one request at a time each (capacity ${fmt(CAPACITY)} req/s);`,
  `Poisson ${fmt(RATE)} req/s (${Math.round(options.load * 100)} % of capacity) for ${options.seconds} s per phase,`,
  'split evenly across the gateways, one load tester process per gateway; each gateway: static discovery over the same',
  `four stubs, least-outstanding, REPLICA_SLOTS 1. ${options.runs} run(s), set-ups interleaved within each run.`,
  '',
]
console.log(header.join('\n'))

const outcomes: Outcome[] = []
for (let run = 1; run <= options.runs; run++) {
  for (const setup of SETUPS) {
    const outcome = await runSetup(setup, run)
    outcomes.push(outcome)
    console.log(
      `run ${run} ${setup.name.padEnd(24)} p50 ${fmt(outcome.p50)} ms, p99 ${fmt(outcome.p99)} ms, max ${fmt(outcome.max)} ms, ` +
        `errors ${outcome.errors}/${outcome.requests}, refusals/request ${fmt(outcome.refusalsPerRequest, 2)}`,
    )
  }
}

const byRun = (run: number, name: string) => outcomes.find((o) => o.run === run && o.setup === name)!
const table = [
  '| run | set-up | requests | p50 ms | p99 ms | max ms | errors | p99 per gateway ms | refusals / request | p99 vs 1 gateway |',
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ...outcomes.map((o) => {
    const single = byRun(o.run, '1 gateway')
    const ratio = o.setup === '1 gateway' ? '' : `${fmt(o.p99 / single.p99, 2)}×`
    const perGateway = o.perGateway.map((g) => fmt(g.p99)).join(' / ')
    return `| ${o.run} | ${o.setup} | ${o.requests} | ${fmt(o.p50)} | ${fmt(o.p99)} | ${fmt(o.max)} | ${o.errors} | ${perGateway} | ${fmt(o.refusalsPerRequest, 2)} | ${ratio} |`
  }),
]
const ratios = (name: string) =>
  Array.from({ length: options.runs }, (_, i) => byRun(i + 1, name).p99 / byRun(i + 1, '1 gateway').p99)
const twoRatios = ratios('2 gateways')
const noRefusalRatios = ratios('2 gateways, no refusal')
const holdsTwoRatios = ratios('2 gateways, holds 2')
const errors = outcomes.filter((o) => o.setup === '2 gateways').reduce((sum, o) => sum + o.errors, 0)
const met = twoRatios.every((r) => r <= 1.25) && errors === 0
const summary = [
  '',
  `p99(2 gateways) / p99(1 gateway) per run: ${twoRatios.map((r) => `${fmt(r, 2)}×`).join(', ')}; ` +
    `holding 2: ${holdsTwoRatios.map((r) => `${fmt(r, 2)}×`).join(', ')}; ` +
    `without the refusal: ${noRefusalRatios.map((r) => `${fmt(r, 2)}×`).join(', ')}`,
  `target ≤ 1.25× and 0 errors in every run: ${met ? 'met' : 'NOT met'} (2-gateway errors: ${errors})`,
]
console.log(`\n${table.join('\n')}\n${summary.join('\n')}`)
mkdirSync(options.out, { recursive: true })
writeFileSync(join(options.out, 'gateways.md'), `${[...header, ...table, ...summary].join('\n')}\n`)
writeFileSync(
  join(options.out, 'gateways.json'),
  `${JSON.stringify({ started, cpu: describeCpu(), loadAverage: loadavg(), rate: RATE, seconds: options.seconds, outcomes, twoRatios, holdsTwoRatios, noRefusalRatios, met }, null, 2)}\n`,
)
console.log(`\nwritten to ${join(options.out, 'gateways.md')} and gateways.json`)
