import assert from 'node:assert/strict'
import { once } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { after, before, describe, test } from 'node:test'
import { call, postImage } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { spawnService } from '../../common/service-process.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { summarize } from '../../loadtester/src/stats.ts'
import type { LocalReplicas } from '../src/discovery/local.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { startGatewayWithLocalReplicas } from './helpers.ts'

// `npm run chaos` runs these for longer (CHAOS_SECONDS); `npm test` keeps them short.
// Long enough that two goodput measurements a few per cent apart are not just noise on a shared 2-core machine.
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 12)
const SLO_MS = 500
/**
 * The gateway answers 504 at a request's deadline, so every 200 leaves it in time; what this process measures adds
 * its own lag in reading the answer (it runs the load tester, the gateway and its timers on the same event loop).
 * That lag is at least these, and at least the longest the event loop was late during the run: a process paused
 * for 150 ms (a busy CI machine) delays every answer in flight by that much, which is not the gateway's doing.
 */
const CLIENT_LAG_MS = { p99: 50, max: 250 }
/** Far below every run here (10 runs: 71–92 % of the closed-loop capacity; see the CI issue's closing note). */
const GOODPUT_FLOOR = 0.5
const images = sampleImages()
  .filter((_, i) => i % 20 === 0)
  .map((image) => ({ name: image.name, bytes: image.bytes(), truth: undefined }))

describe('reliability under load (the load tester against the real stack)', () => {
  let gateway: RunningGateway
  /** What two replicas serve here, measured (machines differ by 4× in inference speed): the loads are relative to it. */
  let capacity: number
  before(async () => {
    gateway = await startGatewayWithLocalReplicas(2)
    capacity = await closedLoopRate(gateway.url)
  })
  after(() => gateway.shutdown(10_000))

  test('SIGKILL to a replica at ~80 % load: every request answered (200, or a clean 503/504), ejected within 2 s, re-admitted', async () => {
    const local = gateway.discovery as LocalReplicas
    const victimUrl = gateway.pool.all[0]!.url
    let ejectedAfterMs: number | undefined
    let killedAt = 0
    const onChange = () => {
      if (killedAt > 0 && ejectedAfterMs === undefined && !gateway.pool.get(victimUrl)?.isRoutable()) {
        ejectedAfterMs = performance.now() - killedAt
      }
    }
    gateway.pool.on('change', onChange)
    const load = runLoad({
      target: gateway.url,
      workload: Array.from({ length: SECONDS }, () => Math.round(capacity * 0.8)),
      arrival: 'poisson',
      seed: 11,
      images,
      timeoutMs: 10_000,
      concurrencyCap: 2000,
      pollReplicas: false,
      onTick: ({ elapsedS }) => {
        if (killedAt === 0 && elapsedS >= 2) {
          killedAt = performance.now()
          process.kill(local.processes.find((p) => p.url === victimUrl)!.pid, 'SIGKILL')
        }
      },
    })
    const result = await load
    gateway.pool.off('change', onChange)
    assert.ok(killedAt > 0, 'the replica was killed during the run')
    const statuses = result.records.map((r) => r.status)
    assert.deepEqual(
      statuses.filter((s) => s !== 200 && s !== 503 && s !== 504),
      [],
      'no request lost, timed out at the client or failed uncleanly',
    )
    assert.ok(
      statuses.filter((s) => s === 200).length >= 0.9 * statuses.length,
      JSON.stringify(summarize(result.records, [], 500, result.durationS).by_status),
    )
    assert.ok(ejectedAfterMs !== undefined && ejectedAfterMs <= 2000, `ejected after ${ejectedAfterMs} ms`)
    while (gateway.pool.readyCount() < 2) await once(gateway.pool, 'change')
  })

  test('overload at 2× capacity: queue within bounds, memory bounded, nothing lost or late, answered within the SLO, every refusal a 503 with Retry-After', async (t) => {
    // What the design guarantees on every run. How much is served (goodput against capacity) depends on the machine
    // and on a short run's noise: that ratio is measured by `npm run bench:overload`, not asserted here.
    while (gateway.queue.size > 0) await new Promise((resolve) => gateway.dispatcher.once('answered', resolve))

    const rssBefore = metric(String((await call(`${gateway.url}/metrics`)).body), 'process_resident_memory_bytes')
    let maxQueue = 0
    let maxBytes = 0
    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
    const result = await runLoad({
      ...openLoop(gateway.url, Math.round(capacity * 2), SECONDS),
      // Clients that want an answer within the SLO say so: the gateway refuses at once what it cannot serve in time.
      timeoutMs: SLO_MS,
      onTick: () => {
        maxQueue = Math.max(maxQueue, gateway.queue.size)
        maxBytes = Math.max(maxBytes, gateway.queue.bytes)
      },
    })
    loopDelay.disable()
    const stallMs = loopDelay.max / 1e6
    const lagMs = { p99: Math.max(CLIENT_LAG_MS.p99, stallMs), max: Math.max(CLIENT_LAG_MS.max, stallMs) }
    const rssAfter = metric(String((await call(`${gateway.url}/metrics`)).body), 'process_resident_memory_bytes')
    const summary = summarize(result.records, [], SLO_MS, result.durationS)
    const ok = result.records.filter((r) => r.status === 200)
    // From when the request was sent: what the gateway is answerable for (the load tester shares this process).
    const latencies = ok.map((r) => r.answeredMs! - r.sentMs!).sort((a, b) => a - b)
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0
    const goodput = steadyGoodput(result, SECONDS)
    const context = `goodput ${goodput.toFixed(1)} req/s, closed-loop capacity ${capacity.toFixed(1)} req/s, ${JSON.stringify(summary.by_status)}, queue max ${maxQueue}, event loop late by up to ${Math.round(stallMs)} ms`
    t.diagnostic(`${context}, p99 ${Math.round(p99)} ms, RSS +${Math.round((rssAfter - rssBefore) / 2 ** 20)} MB`)
    assert.ok(maxQueue <= gateway.queue.limits.maxCount && maxBytes <= gateway.queue.limits.maxBytes)
    assert.ok(
      rssAfter - rssBefore < 150 * 1024 * 1024,
      `gateway RSS grew by ${Math.round((rssAfter - rssBefore) / 2 ** 20)} MB`,
    )
    assert.deepEqual(
      result.records.filter((r) => typeof r.status !== 'number').map((r) => r.status),
      [],
      `every request got an answer (none lost, none left to the client's timeout): ${context}`,
    )
    assert.deepEqual(
      [...new Set(result.records.map((r) => r.status).filter((s) => s !== 200 && s !== 503 && s !== 504))],
      [],
      `no 5xx other than 503 (shed) and 504 (deadline): ${context}`,
    )
    const refused = result.records.filter((r) => r.status === 503)
    assert.ok(refused.length > 0, 'overload is shed')
    assert.deepEqual(
      refused.filter((r) => !(r.retryAfterS! >= 1)).length,
      0,
      'every 503 says when to retry (Retry-After ≥ 1 s)',
    )
    // Admission refuses what it expects to miss its deadline; what it accepts but cannot serve in time is a 504,
    // which must stay rare, and no accepted request is answered 200 after its deadline.
    assert.ok((summary.by_status['504'] ?? 0) <= 0.01 * result.records.length, `accepted but late: ${context}`)
    assert.deepEqual(
      ok.filter((r) => r.answeredMs! - r.sentMs! > SLO_MS + lagMs.max).length,
      0,
      `no 200 after its deadline: ${context}`,
    )
    assert.ok(p99 <= SLO_MS + lagMs.p99, `p99 of answered requests ${Math.round(p99)} ms; ${context}`)
    // Not a benchmark: a floor far below what every run here gives (the spread is in the closing note of the CI
    // issue), so that only an admission that turns away servable work — not a noisy machine — fails it.
    assert.ok(goodput >= GOODPUT_FLOOR * capacity, `goodput below ${GOODPUT_FLOOR} × capacity: ${context}`)
  })
})

function openLoop(target: string, rate: number, seconds: number) {
  return {
    target,
    workload: Array.from({ length: seconds }, () => rate),
    arrival: 'poisson' as const,
    seed: rate,
    images,
    concurrencyCap: 3000,
    pollReplicas: false,
  }
}

/** 200s per second from the end of the first second to the end of the offered load (the queue starts empty). */
function steadyGoodput(result: { records: { status: unknown; answeredMs?: number }[] }, seconds: number): number {
  const steady = result.records.filter(
    (r) => r.status === 200 && r.answeredMs! >= 1000 && r.answeredMs! <= seconds * 1000,
  )
  return steady.length / (seconds - 1)
}

/** Answers per second with 8 requests always in flight for 3 s: a first estimate of capacity. */
async function closedLoopRate(url: string): Promise<number> {
  const until = performance.now() + 3000
  let answered = 0
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      for (let n = i; performance.now() < until; n += 8) {
        const answer = await postImage(`${url}/predict`, images[n % images.length]!.bytes, { 'x-timeout-ms': '10000' })
        if (answer.status === 200) answered++
      }
    }),
  )
  return answered / 3
}

describe('SIGTERM under load: nothing is cut mid-response', () => {
  test('the gateway drains: every request it accepted is answered before it exits', async () => {
    const gateway = await spawnService('gateway', {
      args: ['--discovery', 'local', '--local-replicas', '2', '--autoscaler', 'none'],
    })
    await untilOk(`${gateway.url}/readyz`, 'the gateway')
    const load = runLoad({
      target: gateway.url,
      workload: [30, 30, 30, 30],
      arrival: 'poisson',
      seed: 13,
      images,
      timeoutMs: 15_000,
      concurrencyCap: 2000,
      pollReplicas: false,
      onTick: ({ elapsedS }) => {
        if (elapsedS >= 2 && gateway.child.exitCode === null && !gateway.child.killed) gateway.child.kill('SIGTERM')
      },
    })
    const result = await load
    const code = await gateway.exited
    assert.equal(code, 0)
    const statuses = result.records.map((r) => r.status)
    // Before SIGTERM: 200. After: refused (503) or, once the port is closed, not connected ('error') — never a reply
    // cut in the middle, which the load tester would record as an error after a 2xx status line.
    const cut = result.records.filter((r) => r.status === 'error' && r.sentMs !== undefined && r.sentMs < 2000)
    assert.deepEqual(cut, [])
    assert.ok(statuses.filter((s) => s === 200).length > 30, String(statuses.filter((s) => s === 200).length))
    assert.deepEqual(
      statuses.filter((s) => typeof s === 'number' && s !== 200 && s !== 503),
      [],
    )
  })
})
