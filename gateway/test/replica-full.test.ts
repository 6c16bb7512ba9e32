import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { call } from '../../common/http/call.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { ASSUMED_LATENCY_MS } from '../src/pool/reported-load.ts'
import { stubPoolFixture } from './helpers.ts'

const image = Buffer.alloc(2048, 7)
const post = (url: string, headers: Record<string, string> = {}) =>
  call(`${url}/predict`, {
    body: image,
    headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': '20000', ...headers },
  })
const gatewayMetric = async (gateway: RunningGateway, sample: string) =>
  metric((await call(`${gateway.url}/metrics`)).body as string, sample)

describe("gateway: a replica full with other gateways' work (503 replica_full)", () => {
  const { stubs, gatewayFor, closeAll } = stubPoolFixture()
  after(closeAll)

  for (const flags of [[], ['--max-in-flight-to-replicas', '4'], ['--routing', 'round-robin']]) {
    test(`a job every replica refuses waits for a slot, not in a spin, and is served without a retry (${flags.join(' ') || 'defaults'})`, async () => {
      const [stub] = await stubs({ name: 'only', maxInflight: 1, delayMs: 1 })
      const gateway = await gatewayFor([stub!], flags)
      // Another gateway's request holds the replica's one place until released.
      const release = stub!.holdAnswers()
      const other = post(stub!.url)
      await stub!.received(1)
      const ours = post(gateway.url)
      await stub!.refused(3)
      release()
      const [answer, otherAnswer] = await Promise.all([ours, other])
      assert.equal(otherAnswer.status, 200)
      assert.equal(answer.status, 200, JSON.stringify(answer.body))
      assert.equal(answer.body.replica_id, 'only')
      // Refused attempts are neither retries nor failures: no budget spent, the replica never tried out or ejected.
      assert.equal(await gatewayMetric(gateway, 'gateway_retries_total'), 0)
      assert.ok((await gatewayMetric(gateway, 'gateway_replica_full_total')) >= 3)
      assert.equal(gateway.pool.get(stub!.url)?.snapshot(Date.now()).failures, 0)
      // Each new attempt waited for the refusal to expire (a timer never fires early), rather than re-sending at once.
      const gaps = stub!.refusedAt.slice(1).map((at, i) => at - stub!.refusedAt[i]!)
      const minimum = ASSUMED_LATENCY_MS / 2 - 2
      assert.ok(
        gaps.every((gap) => gap >= minimum),
        `gaps between refusals ${gaps.map((g) => g.toFixed(1))} ms`,
      )
    })
  }

  test('a refused job goes to a free replica at once, ahead of jobs that came later', async () => {
    const [busy, free] = await stubs({ name: 'busy', maxInflight: 1, delayMs: 1 }, { name: 'free', delayMs: 1 })
    const gateway = await gatewayFor([busy!, free!])
    const release = busy!.holdAnswers()
    const other = post(busy!.url)
    await busy!.received(1)
    // Whichever replica it picks first, the job ends on the free one.
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(gateway.url)))
    release()
    await other
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.replica_id]),
      answers.map(() => [200, 'free']),
    )
    assert.equal(await gatewayMetric(gateway, 'gateway_retries_total'), 0)
  })

  test('two gateways over one-at-a-time replicas: every request served, none retried or failed, no replica ever holds two', async () => {
    const list = await stubs(
      { name: 'a', maxInflight: 1, delayMs: 5 },
      { name: 'b', maxInflight: 1, delayMs: 5 },
      { name: 'c', maxInflight: 1, delayMs: 15 },
    )
    const gateways = [await gatewayFor(list), await gatewayFor(list)]
    let most = 0
    for (const stub of list) stub.on('request', () => (most = Math.max(most, stub.inflight)))
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => post(gateways[i % 2]!.url, { 'x-request-id': `r${i}` })),
    )
    assert.deepEqual(
      answers.filter((a) => a.status !== 200).map((a) => a.body),
      [],
    )
    assert.equal(most, 1)
    for (const gateway of gateways) assert.equal(await gatewayMetric(gateway, 'gateway_retries_total'), 0)
    for (const stub of list) assert.equal(gateways[0]!.pool.get(stub.url)?.snapshot(Date.now()).failures, 0)
  })
})
