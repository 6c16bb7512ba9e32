import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { call, errorCode } from '../../common/http/call.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { jobsAccepted, routable, startTestGateway } from './helpers.ts'
import { StubReplica, type StubReplicaOptions } from './stub-replica.ts'

const image = Buffer.alloc(2048, 7)
/**
 * These clients wait for queued answers unless a test says otherwise (a request without X-Timeout-Ms is admitted
 * only if it is expected to be answered within the 500 ms SLO: the test of that says so).
 */
const WAITING = { 'x-timeout-ms': '30000' }
const post = (gateway: RunningGateway, headers: Record<string, string> = WAITING, signal?: AbortSignal) =>
  call(`${gateway.url}/predict`, { body: image, headers: { 'content-type': 'image/jpeg', ...headers }, signal })
const metricsOf = async (gateway: RunningGateway) => (await call(`${gateway.url}/metrics`)).body as string

describe('gateway: admission, deadlines, client aborts', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })
  const setup = async (stubOptions: StubReplicaOptions, flags: string[] = []) => {
    const stub = await StubReplica.start(stubOptions)
    const gateway = await startTestGateway(['--discovery', 'static', '--replicas', stub.url, ...flags])
    cleanup.push(
      () => stub.close(),
      () => gateway.shutdown(1000),
    )
    await routable(gateway, 1)
    return { stub, gateway }
  }

  test('a full queue (count) answers 503 queue_full with Retry-After; accepted requests are all answered', async () => {
    const { stub, gateway } = await setup({}, ['--queue-max', '2'])
    // The first request stays in service until the checks are done: a service time would race a slow machine.
    const release = stub.holdAnswers()
    const first = post(gateway)
    await stub.received(1)
    const arrived = jobsAccepted(gateway, 2)
    const queued = [post(gateway), post(gateway)]
    await arrived
    assert.equal(gateway.queue.size, 2)
    const refused = await post(gateway)
    assert.equal(refused.status, 503)
    assert.equal(errorCode(refused), 'queue_full')
    assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/)
    assert.equal(refused.headers['x-queue-size'], '2')
    release()
    const answers = await Promise.all([first, ...queued])
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    )
    // Each answer reports how many were still waiting at that moment: 2 behind the first, 1, then none.
    assert.deepEqual(
      answers.map((a) => a.body.queue_size),
      [2, 1, 0],
    )
    assert.equal(metric(await metricsOf(gateway), 'gateway_rejected_total{reason="queue_full"}'), 1)
  })

  test('the byte bound refuses too, before reading the body', async () => {
    const { stub, gateway } = await setup({}, ['--queue-max-bytes', String(5000)])
    // Held in service, so both queued bodies are still queued when the third arrives.
    const release = stub.holdAnswers()
    const first = post(gateway)
    await stub.received(1)
    const arrived = jobsAccepted(gateway, 2)
    const queued = [post(gateway), post(gateway)]
    await arrived
    const refused = await post(gateway)
    assert.equal(refused.status, 503)
    assert.equal(errorCode(refused), 'queue_full')
    release()
    assert.deepEqual(
      (await Promise.all([first, ...queued])).map((a) => a.status),
      [200, 200, 200],
    )
  })

  test('a job whose deadline passes in the queue gets 504 and is never sent upstream', async () => {
    const { stub, gateway } = await setup({})
    // The first is held in service until the second has expired: a service time a slow machine can outlast would
    // free the slot, and the second would be sent.
    const release = stub.holdAnswers()
    const first = post(gateway)
    await stub.received(1)
    // 120 ms looks feasible on admission (the replica's latency is not known yet), then expires behind the held one.
    const expired = await post(gateway, { 'x-timeout-ms': '120' })
    assert.equal(expired.status, 504)
    assert.equal(errorCode(expired), 'deadline_exceeded')
    release()
    assert.equal((await first).status, 200)
    assert.equal(stub.requests.length, 1, 'the expired job never reached the replica')
    assert.equal(metric(await metricsOf(gateway), 'gateway_rejected_total{reason="deadline"}'), 1)
  })

  test('a request that cannot be served before its deadline is refused at once: 503 with Retry-After', async () => {
    const { stub, gateway } = await setup({ delayMs: 100 })
    for (let i = 0; i < 2; i++) {
      assert.equal((await post(gateway)).status, 200, 'two answers teach the gateway the replica takes ~100 ms')
    }
    const settled: string[] = []
    // Held until the refusal: the two requests queued ahead must still be queued when it is decided.
    const release = stub.holdAnswers()
    const busy = [post(gateway), post(gateway), post(gateway)].map((p) => p.finally(() => settled.push('busy')))
    await stub.received(3)
    const hopeless = await post(gateway, { 'x-timeout-ms': '150' }).finally(() => settled.push('hopeless'))
    assert.equal(hopeless.status, 503)
    assert.equal(errorCode(hopeless), 'would_miss_deadline')
    assert.ok(Number(hopeless.headers['retry-after']) >= 1)
    assert.ok(
      settled.filter((x) => x === 'busy').length < 3,
      `refused while the last request ahead was still being served (${settled})`,
    )
    release()
    assert.deepEqual(
      (await Promise.all(busy)).map((a) => a.status),
      [200, 200, 200],
    )
    assert.equal(metric(await metricsOf(gateway), 'gateway_rejected_total{reason="would_miss_deadline"}'), 1)
  })

  test('one slow first answer is no pace: admission does not refuse on it', async () => {
    const { stub, gateway } = await setup({ delayMs: 400 })
    assert.equal((await post(gateway)).status, 200, 'a first answer ten times slower than the rest')
    stub.delayMs = 20
    const arrived = jobsAccepted(gateway, 10)
    const queued = Array.from({ length: 10 }, () => post(gateway))
    await arrived
    // At the first answer's 400 ms, ten jobs ahead would take over 4 s; at the real 20 ms, about 0.2 s.
    const urgent = await post(gateway, { 'x-timeout-ms': '3000' })
    assert.equal(urgent.status, 200, JSON.stringify(urgent.body))
    assert.deepEqual(new Set((await Promise.all(queued)).map((a) => a.status)), new Set([200]))
  })

  test('a request without X-Timeout-Ms is admitted by the SLO (500 ms), not by its 10 s deadline; its own deadline wins', async () => {
    const { stub, gateway } = await setup({ delayMs: 100 })
    for (let i = 0; i < 2; i++) assert.equal((await post(gateway)).status, 200)
    // Held until the refusal, so none of the six ahead has been served when it is decided.
    const release = stub.holdAnswers()
    const arrived = jobsAccepted(gateway, 6)
    const queued = Array.from({ length: 6 }, () => post(gateway))
    await arrived
    // Six ahead at ~100 ms each: ~0.6 s or more, beyond 80 % of the SLO, far within 10 s.
    const plain = await call(`${gateway.url}/predict`, { body: image, headers: { 'content-type': 'image/jpeg' } })
    assert.equal(plain.status, 503, JSON.stringify(plain.body))
    assert.equal(errorCode(plain), 'would_miss_deadline')
    assert.match(plain.body.error, /SLO/)
    assert.ok(Number(plain.headers['retry-after']) >= 1)
    release()
    const patient = await post(gateway, { 'x-timeout-ms': '10000' })
    assert.equal(patient.status, 200)
    assert.deepEqual(new Set((await Promise.all(queued)).map((a) => a.status)), new Set([200]))
    assert.equal(stub.requests.length, 2 + 6 + 1, 'the refused request never reached the replica')
  })

  test('without X-Timeout-Ms, a request that would be sent at once is admitted, however slow the last answer was', async () => {
    const { stub, gateway } = await setup({ delayMs: 700 })
    assert.equal((await post(gateway)).status, 200, 'one answer slower than the SLO raises the latency estimate')
    stub.delayMs = 20
    for (let i = 0; i < 2; i++) assert.equal((await post(gateway)).status, 200)
    const plain = await call(`${gateway.url}/predict`, { body: image, headers: { 'content-type': 'image/jpeg' } })
    assert.equal(plain.status, 200, JSON.stringify(plain.body))
  })

  test('a client that disconnects has its job removed from the queue', async () => {
    const { stub, gateway } = await setup({})
    // The first holds the slot until the abandoned job has left the queue: were the slot freed first, it would be sent.
    const release = stub.holdAnswers()
    const first = post(gateway)
    await stub.received(1)
    const controller = new AbortController()
    const arrived = jobsAccepted(gateway, 1)
    const abandoned = post(gateway, WAITING, controller.signal).catch((error: Error) => error)
    const [job] = await arrived
    assert.equal(gateway.queue.size, 1)
    controller.abort()
    assert.ok((await abandoned) instanceof Error)
    // The client sees its own abort at once; the gateway, when the closed connection reaches it.
    const outcome = await job!.outcome
    assert.ok(outcome.kind === 'error' && outcome.code === 'client_closed', JSON.stringify(outcome))
    release()
    assert.equal((await first).status, 200)
    assert.equal(gateway.queue.size, 0)
    assert.equal(stub.requests.length, 1, 'the abandoned job never reached the replica')
    assert.equal(metric(await metricsOf(gateway), 'gateway_rejected_total{reason="client_closed"}'), 1)
  })

  test('no replica ready: 503 no_replica at once, /readyz 503; both recover when a replica is back', async () => {
    const { stub, gateway } = await setup({})
    stub.ready = false
    await routable(gateway, 0)
    const refused = await post(gateway)
    assert.equal(refused.status, 503)
    assert.equal(errorCode(refused), 'no_replica')
    assert.ok(Number(refused.headers['retry-after']) >= 1)
    assert.equal((await call(`${gateway.url}/readyz`)).status, 503)
    assert.equal(stub.requests.length, 0)
    stub.ready = true
    await routable(gateway, 1)
    assert.equal((await call(`${gateway.url}/readyz`)).status, 200)
    assert.equal((await post(gateway)).status, 200)
  })

  test('GET /queue and /metrics report sizes, workers and counts', async () => {
    const { stub, gateway } = await setup({ delayMs: 100 })
    // Held so the snapshot below sees one in service and one queued; the 100 ms service time is what the EWMA checks.
    const release = stub.holdAnswers()
    const first = post(gateway)
    await stub.received(1)
    const arrived = jobsAccepted(gateway, 1)
    const second = post(gateway)
    await arrived
    const queue = (await call(`${gateway.url}/queue`)).body
    release()
    assert.equal(queue.size, 1)
    assert.equal(queue.bytes, image.length)
    assert.equal(queue.workers, 1)
    assert.equal(queue.workers_busy, 1)
    assert.deepEqual(queue.lanes, { normal: 1, low: 0 })
    assert.ok(queue.oldest_wait_ms >= 0)
    await Promise.all([first, second])
    const text = await metricsOf(gateway)
    assert.equal(metric(text, 'gateway_requests_total{status="200"}'), 2)
    assert.equal(metric(text, `gateway_dispatched_total{replica="${stub.url}"}`), 2)
    assert.equal(metric(text, 'gateway_replicas_ready'), 1)
    assert.equal(metric(text, 'gateway_queue_size'), 0)
    assert.equal(metric(text, 'gateway_queue_wait_seconds_count'), 2)
    assert.equal(metric(text, `gateway_upstream_duration_seconds_count{replica="${stub.url}"}`), 2)
    assert.equal(metric(text, 'gateway_request_duration_seconds_count{status="200"}'), 2)
    const replicas = (await call(`${gateway.url}/replicas`)).body
    assert.equal(replicas.ready, 1)
    assert.equal(replicas.replicas[0].url, stub.url)
    assert.ok(replicas.replicas[0].ewma_latency_ms >= 100)
  })

  test('shutdown: stop admitting, answer everything queued and in flight', async () => {
    const { stub, gateway } = await setup({ delayMs: 60 })
    const arrived = jobsAccepted(gateway, 4)
    const accepted = [post(gateway), post(gateway), post(gateway), post(gateway)]
    await arrived
    await stub.received(1)
    const stopping = gateway.shutdown(10_000)
    const late = await post(gateway).catch((error: Error) => error)
    if (!(late instanceof Error)) assert.equal(late.status, 503)
    assert.deepEqual(
      (await Promise.all(accepted)).map((a) => a.status),
      [200, 200, 200, 200],
    )
    await stopping
  })
})
