import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, describe, test } from 'node:test'
import { call } from '../../common/http/call.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const INTERVAL_MS = 50
const TIMEOUT_MS = 100
const FAILURE_THRESHOLD = 3

describe('gateway: readiness probes with thresholds', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })
  const setup = async (timeoutMs = TIMEOUT_MS) => {
    const stub = await StubReplica.start({ name: 'only', delayMs: 5 })
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'none'],
      ...['--health-interval-ms', String(INTERVAL_MS), '--health-timeout-ms', String(timeoutMs)],
      ...['--health-failure-threshold', String(FAILURE_THRESHOLD)],
    ])
    cleanup.push(
      () => stub.close(),
      () => gateway.shutdown(1000),
    )
    await routable(gateway, 1)
    const replica = gateway.pool.all[0]!
    const routability: boolean[] = []
    gateway.pool.on('routability', (changed, routable) => changed === replica && routability.push(routable))
    return { stub, gateway, replica, routability }
  }
  // A deadline far beyond the SLO: on a slow machine the measured latency grows, and admission would rightly refuse
  // some of ten requests sent at once for the SLO's sake — which is not what these tests are about.
  const predict = (gateway: RunningGateway) =>
    call(`${gateway.url}/predict`, {
      body: Buffer.alloc(512, 1),
      headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': '60000' },
    })

  test('probes that go unanswered fewer times than the threshold do not unready a serving replica', async () => {
    // The misses are cut connections, seen at once, and the timeout is long: a probe that is answered counts as
    // answered even on a machine that stalls for longer than the 100 ms the other tests time out at.
    const { stub, gateway, replica, routability } = await setup(10_000)
    stub.unansweredProbes = FAILURE_THRESHOLD - 1
    const from = stub.probes
    const answers = Array.from({ length: 10 }, () => predict(gateway))
    // Probe n+1 reaches the stub only once probe n's verdict is recorded (one probe per replica at a time).
    await stub.probed(from + FAILURE_THRESHOLD + 1)
    assert.deepEqual(routability, [], 'routability never changed')
    assert.equal(replica.isRoutable(), true)
    assert.deepEqual(
      (await Promise.all(answers)).map((a) => a.status),
      answers.map(() => 200),
    )
  })

  test('a replica that stops answering probes is out after exactly the threshold of misses, within threshold × interval + timeout', async () => {
    const { stub, gateway, replica, routability } = await setup()
    const from = stub.probes
    const hungAt = performance.now()
    stub.probeDelayMs = Number.POSITIVE_INFINITY
    while (routability.length === 0) await once(gateway.pool, 'routability')
    const outAfterMs = performance.now() - hungAt
    assert.deepEqual(routability, [false])
    // The probe that made it unready was the threshold-th without an answer (a later one may have been sent since).
    assert.ok(stub.probes - from >= FAILURE_THRESHOLD, `${stub.probes - from} probes`)
    assert.equal(replica.readiness.consecutiveFailures, FAILURE_THRESHOLD)
    const stated = FAILURE_THRESHOLD * INTERVAL_MS + TIMEOUT_MS
    // A loose bound: it catches a schedule that waits for slow probes (≥ 2× the stated time), not a busy machine.
    assert.ok(outAfterMs < stated * 8, `out after ${Math.round(outAfterMs)} ms (stated ${stated} ms)`)
  })

  test('each replica is probed on its own schedule: a probe that hangs does not hold up the others', async () => {
    const [hung, healthy] = await Promise.all([
      StubReplica.start({ name: 'hung' }),
      StubReplica.start({ name: 'healthy' }),
    ])
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', `${hung.url},${healthy.url}`, '--autoscaler', 'none'],
      ...['--health-interval-ms', String(INTERVAL_MS), '--health-timeout-ms', String(TIMEOUT_MS)],
      ...['--health-failure-threshold', String(FAILURE_THRESHOLD)],
    ])
    cleanup.push(
      () => hung.close(),
      () => healthy.close(),
      () => gateway.shutdown(1000),
    )
    await routable(gateway, 2)
    const [hungFrom, healthyFrom] = [hung.probes, healthy.probes]
    hung.probeDelayMs = Number.POSITIVE_INFINITY
    const hungReplica = gateway.pool.get(hung.url)!
    while (hungReplica.isRoutable()) await once(gateway.pool, 'change')
    // Probes of the hung one time out after 100 ms; the healthy one is probed every 50 ms all the same. A round that
    // waited for its slowest probe would have probed both the same number of times.
    assert.ok(
      healthy.probes - healthyFrom > hung.probes - hungFrom,
      `healthy probed ${healthy.probes - healthyFrom} times, hung ${hung.probes - hungFrom}`,
    )
    assert.equal(gateway.pool.get(healthy.url)!.isRoutable(), true)
  })

  test('a replica that answers "not ready" is out at the next probe', async () => {
    const { stub, gateway, replica, routability } = await setup()
    const from = stub.probes
    stub.ready = false
    while (routability.length === 0) await once(gateway.pool, 'routability')
    assert.deepEqual(routability, [false])
    assert.equal(replica.readiness.consecutiveFailures, 1)
    assert.ok(stub.probes - from >= 1)
  })
})
