/**
 * `npm run soak -- --minutes N [--rate R]` — steady load through the local stack (a gateway spawning 2 replicas)
 * for N minutes. Every 10 s it reads RSS and V8 heap of the gateway and of each replica from their /metrics; after
 * a warm-up (the first fifth, at least a minute) it compares the first and the last tenth of the samples
 * (see memoryGrowth), and exits 1 if any of them grew more than 10 %. Writes out/soak/<time>/memory.csv and
 * summary.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { spawnService } from '../../common/service-process.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { summarize } from '../../loadtester/src/stats.ts'
import { type MemorySample, memoryGrowth } from './memory-growth.ts'
import { soakSpec } from './soak-config.ts'

const { minutes, rate, maxGrowth } = configFromCommandLine('soak', soakSpec)

// Before anything starts: without the sample images there is nothing to send.
const images = dataOrExit(() =>
  someSampleImages(50, 19).map((image) => ({ name: image.name, bytes: image.bytes(), truth: undefined })),
)
const SAMPLE_EVERY_MS = 10_000
const out = join('out', 'soak', new Date().toISOString().replace(/[:.]/g, '-'))
mkdirSync(out, { recursive: true })

async function memoryOf(url: string): Promise<{ rssMb: number; heapMb: number } | undefined> {
  try {
    const response = await request(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })
    const text = await response.body.text()
    return {
      rssMb: metric(text, 'process_resident_memory_bytes') / 2 ** 20,
      heapMb: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    }
  } catch {
    return undefined
  }
}

const gateway = await spawnService('gateway', {
  args: ['--discovery', 'local', '--local-replicas', '2', '--autoscaler', 'none'],
})
// The gateway is up when spawnService resolves; its replicas are still warming up.
await untilOk(`${gateway.url}/readyz`, 'the gateway')
console.log(`soak: ${minutes} min at ${rate} req/s through ${gateway.url}; memory every ${SAMPLE_EVERY_MS / 1000} s`)

const samples: MemorySample[] = []
const started = performance.now()
const sample = async () => {
  const atS = Math.round((performance.now() - started) / 1000)
  const replicas = (await (await request(`${gateway.url}/replicas`)).body.json()) as { replicas: { url: string }[] }
  const targets = [
    { name: 'gateway', url: gateway.url },
    ...replicas.replicas.map((r) => ({ name: `replica ${r.url}`, url: r.url })),
  ]
  for (const target of targets) {
    const memory = await memoryOf(target.url)
    if (memory) samples.push({ atS, process: target.name, ...memory })
  }
  const line = samples
    .filter((s) => s.atS === atS)
    .map(
      (s) => `${s.process.replace('replica http://127.0.0.1:', 'r:')} ${s.rssMb.toFixed(0)}/${s.heapMb.toFixed(0)} MB`,
    )
  console.log(`${String(atS).padStart(5)} s  rss/heap  ${line.join('  ')}`)
}
await sample()
const timer = setInterval(() => void sample(), SAMPLE_EVERY_MS)
const result = await runLoad({
  target: gateway.url,
  workload: Array.from({ length: minutes * 60 }, () => rate),
  arrival: 'poisson',
  seed: 1,
  images,
  timeoutMs: 10_000,
  concurrencyCap: 2000,
  pollReplicas: false,
})
clearInterval(timer)
gateway.child.kill('SIGTERM')
await gateway.exited

const warmUpS = Math.max(60, (minutes * 60) / 5)
const verdicts = memoryGrowth(samples, warmUpS)
const load = summarize(result.records, [], 500, result.durationS)
const failed = verdicts.filter((v) => v.growth > maxGrowth)
writeFileSync(
  join(out, 'memory.csv'),
  `at_s,process,rss_mb,heap_mb\n${samples.map((s) => `${s.atS},${s.process},${s.rssMb.toFixed(1)},${s.heapMb.toFixed(1)}`).join('\n')}\n`,
)
writeFileSync(
  join(out, 'summary.json'),
  `${JSON.stringify({ minutes, rate, warmUpS, maxGrowth, verdicts, load: { sent: load.sent, by_status: load.by_status, latency_ms: load.latency_ms } }, null, 2)}\n`,
)
console.log(
  `\nrequests: ${load.sent} sent, ${JSON.stringify(load.by_status)}, p99 ${load.latency_ms?.p99.toFixed(0)} ms`,
)
console.log(`memory after the ${warmUpS} s warm-up → end (first and last tenth: RSS median, heap minimum):`)
for (const v of verdicts) {
  console.log(
    `  ${v.process.padEnd(32)} ${v.metric.padEnd(6)} ${v.afterWarmUpMb.toFixed(1)} → ${v.endMb.toFixed(1)} MB (${(v.growth * 100).toFixed(1)} %)`,
  )
}
if (verdicts.length === 0) console.log('  too few samples after warm-up to judge (run longer)')
console.log(`written to ${out}`)
if (failed.length > 0) {
  console.error(
    `FAIL: growth above ${maxGrowth * 100} % for ${failed.map((v) => `${v.process} ${v.metric}`).join(', ')}`,
  )
  process.exit(1)
}
