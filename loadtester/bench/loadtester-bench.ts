/**
 * `npm run bench:loadtester` — how fast the load tester can keep its schedule. Against a trivial server on
 * 127.0.0.1 (its own process), constant open-loop rates of increasing size for 5 s each: the highest rate whose
 * schedule lag (actual send − intended send) stays under 2 ms at p99, with tiny bodies and with 110 KB bodies.
 * wrk and hey (Debian packages) are run against the same server for comparison; both are closed-loop tools
 * (a fixed number of connections, each waiting for its answer), so their latency hides queueing.
 */
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configFromCommandLine } from '../../common/command-line.ts'
import { describeCpu } from '../../common/measure/cpu-info.ts'
import type { LoadImage } from '../src/images.ts'
import { runLoad } from '../src/runner.ts'
import { summarize } from '../src/stats.ts'
import { loadtesterBenchSpec, loadtesterBenchSummary } from './loadtester-bench-config.ts'

configFromCommandLine('bench:loadtester', loadtesterBenchSpec, undefined, loadtesterBenchSummary)

const server = spawn(process.execPath, [fileURLToPath(new URL('./echo-server.ts', import.meta.url))], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const [{ url }] = (await once(server, 'message')) as [{ url: string }]

const bodies: Record<string, LoadImage> = {
  tiny: { name: 'tiny.jpg', bytes: Buffer.alloc(200, 1), truth: undefined },
  '110 KB': { name: 'large.jpg', bytes: Buffer.alloc(110 * 1024, 1), truth: undefined },
}
const RATES = [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000]
const SECONDS = 5

async function atRate(image: LoadImage, rate: number) {
  const result = await runLoad({
    target: url,
    workload: Array.from({ length: SECONDS }, () => rate),
    arrival: 'poisson',
    seed: rate,
    images: [image],
    timeoutMs: 10_000,
    concurrencyCap: 4096,
    pollReplicas: false,
  })
  const summary = summarize(result.records, [], 500, result.durationS)
  return {
    rate,
    achieved: summary.answered / result.durationS,
    lagP99: summary.schedule_lag_ms?.p99 ?? Number.NaN,
    latencyP99: summary.latency_ms?.p99 ?? Number.NaN,
    notAnswered: summary.dropped + (summary.sent - (summary.by_status['200'] ?? 0)),
  }
}

const has = (command: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

console.log(`load tester benchmark — the load tester on one thread, ${SECONDS} s per rate`)
console.log(`${describeCpu().join('\n')}\n`)
const results: Record<string, unknown> = {}
const best: Record<string, number> = {}
for (const [label, image] of Object.entries(bodies)) {
  console.log(`${label} bodies:`)
  // A discarded warm-up: JIT compilation and the first connections would otherwise count as schedule lag.
  await atRate(image, 300)
  const rows = []
  for (const rate of RATES) {
    const row = await atRate(image, rate)
    rows.push(row)
    const ok = row.lagP99 < 2 && row.notAnswered === 0
    console.log(
      `  ${String(rate).padStart(5)} req/s offered: ${row.achieved.toFixed(0).padStart(5)} answered/s, schedule lag p99 ${row.lagP99.toFixed(2)} ms, latency p99 ${row.latencyP99.toFixed(2)} ms${ok ? '' : '  ✗'}`,
    )
    if (ok) best[label] = rate
    else break
  }
  results[label] = rows
  console.log(`  highest rate with lag p99 < 2 ms: ${best[label] ?? 'none'} req/s\n`)
}

const bodyFile = join(tmpdir(), 'switchyard-bench-body.bin')
writeFileSync(bodyFile, bodies.tiny!.bytes)
if (has('wrk')) {
  const script = join(tmpdir(), 'switchyard-bench-post.lua')
  writeFileSync(
    script,
    `local f = io.open("${bodyFile}", "rb"); wrk.body = f:read("*all"); f:close()\nwrk.method = "POST"; wrk.headers["Content-Type"] = "image/jpeg"\n`,
  )
  const out = execFileSync('wrk', [
    '-t1',
    '-c64',
    `-d${SECONDS}s`,
    '-s',
    script,
    `${url}/predict`,
    '--latency',
  ]).toString()
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1]
  results.wrk = { rps, p99 }
  console.log(`wrk (closed loop, 64 connections, tiny bodies): ${rps.toFixed(0)} req/s, latency p99 ${p99}`)
} else console.log('wrk not found (apt-get install wrk): skipped')
if (has('hey') && best.tiny) {
  const clients = 50
  const out = execFileSync('hey', [
    '-z',
    `${SECONDS}s`,
    '-c',
    String(clients),
    '-q',
    String(best.tiny / clients),
    '-m',
    'POST',
    '-T',
    'image/jpeg',
    '-D',
    bodyFile,
    `${url}/predict`,
  ]).toString()
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p99 = /99%% in ([\d.]+) secs/.exec(out)?.[1] ?? /99% in ([\d.]+) secs/.exec(out)?.[1]
  results.hey = { targetRate: best.tiny, rps, p99Ms: Number(p99) * 1000 }
  console.log(
    `hey (closed loop, ${clients} clients rate-limited to ${best.tiny} req/s in total, tiny bodies): ${rps.toFixed(0)} req/s, latency p99 ${(Number(p99) * 1000).toFixed(2)} ms`,
  )
} else console.log('hey not found (apt-get install hey): skipped')

server.kill()
mkdirSync('out/bench', { recursive: true })
writeFileSync('out/bench/loadtester.json', `${JSON.stringify({ cpu: describeCpu(), best, ...results }, null, 2)}\n`)
console.log('\nwritten to out/bench/loadtester.json')
