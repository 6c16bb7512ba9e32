/**
 * `npm run bench:overload` — what the gateway serves within the SLO when offered twice what its replicas can serve,
 * against what they serve at saturation, measured interleaved (capacity, overload, capacity, overload, …) on one
 * real stack, with the load tester in its own process, each phase from its own report:
 *
 * - capacity: open loop at 1.5× the last estimate, clients sending a long deadline (nothing is refused for time):
 *   200s per second in the steady part (after the first 2 s, up to the end of the offered load).
 * - overload: open loop at 2× the capacity just measured, the load tester and the gateway at their defaults: 200s
 *   within the SLO per second in the same window — the goodput a user gets.
 *
 * Target: goodput ≥ 95 % of capacity (median over rounds); the spread says how far one run can be from it.
 */
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { call } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { spawnService } from '../../common/service-process.ts'
import { runLoadPhase } from './load-phase.ts'
import { overloadBenchSpec, overloadBenchSummary } from './overload-bench-config.ts'

const config = configFromCommandLine('bench:overload', overloadBenchSpec, undefined, overloadBenchSummary)
dataOrExit(() => sampleImages())
for (const line of describeCpu()) console.log(line)

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'out/bench/overload')
const SLO_MS = 500
const WARM_UP_S = 2

interface Phase {
  kind: 'capacity' | 'overload'
  round: number
  offered_rps: number
  /** 200s per second in the steady window (capacity), or 200s within the SLO per second (overload). */
  served_rps: number
  refused_share: number
  p99_answered_ms: number | null
  by_status: Record<string, number>
}

mkdirSync(OUT, { recursive: true })
// Readiness probes that went unanswered under load (each one alone would have unreadied a replica before the
// failure threshold), and replicas that became unroutable: evidence for HEALTH_FAILURE_THRESHOLD.
const probeMisses = { missed: 0, unroutable: 0 }
const gateway = await spawnService('gateway', {
  onLog: (line) => {
    if (line.includes('readiness probe got no answer')) probeMisses.missed++
    if (line.includes('"routable":false')) probeMisses.unroutable++
  },
  args: ['--discovery', 'local', '--local-replicas', String(config.replicas), '--autoscaler', 'none'],
})
await untilOk(`${gateway.url}/readyz`, 'the gateway')
while ((await call(`${gateway.url}/replicas`)).body.ready < config.replicas) await once(gateway.child.stdout!, 'data')

const phases: Phase[] = []
let estimate = 25 * config.replicas
// A first short saturation run warms the replicas (JIT, first batches) and gives the first capacity estimate.
estimate = (await phase('capacity', 0, Math.round(estimate * 1.5), 8)).served_rps
for (let round = 1; round <= config.rounds; round++) {
  const capacity = await phase('capacity', round, Math.round(estimate * 1.5), config.seconds)
  phases.push(capacity)
  estimate = capacity.served_rps
  phases.push(await phase('overload', round, Math.round(capacity.served_rps * config.overload), config.seconds))
}
gateway.child.kill('SIGTERM')
await gateway.exited

const rounds = Array.from({ length: config.rounds }, (_, i) => {
  const [capacity, overload] = phases.filter((p) => p.round === i + 1) as [Phase, Phase]
  return {
    round: i + 1,
    capacity: capacity.served_rps,
    goodput: overload.served_rps,
    ratio: overload.served_rps / capacity.served_rps,
  }
})
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length / 2
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, min: sorted[0]!, max: sorted.at(-1)! }
}
const result = {
  cpu: describeCpu(),
  replicas: config.replicas,
  seconds: config.seconds,
  overload: config.overload,
  slo_ms: SLO_MS,
  capacity_rps: stats(rounds.map((r) => r.capacity)),
  goodput_rps: stats(rounds.map((r) => r.goodput)),
  goodput_over_capacity: stats(rounds.map((r) => r.ratio)),
  target: 0.95,
  probe_misses: probeMisses,
  rounds,
  phases,
}
writeFileSync(join(ROOT, 'out/bench/overload.json'), `${JSON.stringify(result, null, 2)}\n`)
const pct = (x: number) => `${(x * 100).toFixed(1)} %`
console.log('\nround  capacity req/s  goodput within SLO req/s  ratio')
for (const r of rounds) {
  console.log(
    `${String(r.round).padStart(5)}  ${r.capacity.toFixed(1).padStart(14)}  ${r.goodput.toFixed(1).padStart(24)}  ${pct(r.ratio)}`,
  )
}
const ratio = result.goodput_over_capacity
console.log(
  `\nmedian goodput/capacity ${pct(ratio.median)} (min ${pct(ratio.min)}, max ${pct(ratio.max)}; target ≥ 95 %); ` +
    `capacity median ${result.capacity_rps.median.toFixed(1)} req/s; readiness probes unanswered ${probeMisses.missed}, ` +
    `replicas made unroutable ${probeMisses.unroutable}\nwritten: out/bench/overload.json`,
)

/** One phase: the load tester as its own process, judged from the requests.csv it writes. */
async function phase(kind: Phase['kind'], round: number, rate: number, seconds: number): Promise<Phase> {
  // Capacity: clients that wait (a long deadline, sent), so nothing is refused for time. Overload: the defaults.
  const flags =
    kind === 'capacity' ? ['--timeout-ms', '60000', '--send-deadline', 'true', '--concurrency-cap', '5000'] : []
  const rows = await runLoadPhase({
    target: gateway.url,
    rate,
    seconds,
    dir: join(OUT, `${round}-${kind}`),
    seed: round,
    flags,
  })
  // The next phase starts on an empty queue.
  while ((await call(`${gateway.url}/queue`)).body.size > 0) await new Promise((resolve) => setTimeout(resolve, 200))
  const steady = rows.filter(
    (r) => r.status === '200' && r.answered >= WARM_UP_S * 1000 && r.answered <= seconds * 1000,
  )
  const served = kind === 'capacity' ? steady : steady.filter((r) => r.latency <= SLO_MS)
  const answered = rows
    .filter((r) => r.status === '200')
    .map((r) => r.latency)
    .sort((a, b) => a - b)
  const byStatus: Record<string, number> = {}
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1
  const result: Phase = {
    kind,
    round,
    offered_rps: rate,
    served_rps: served.length / (seconds - WARM_UP_S),
    refused_share: (byStatus['503'] ?? 0) / rows.length,
    p99_answered_ms: answered.length ? answered[Math.floor(answered.length * 0.99)]! : null,
    by_status: byStatus,
  }
  console.error(
    `${kind} ${round}: offered ${rate} req/s, ${kind === 'capacity' ? 'served' : 'within SLO'} ${result.served_rps.toFixed(1)} req/s, ` +
      `p99 ${result.p99_answered_ms?.toFixed(0)} ms, ${JSON.stringify(byStatus)}`,
  )
  return result
}
