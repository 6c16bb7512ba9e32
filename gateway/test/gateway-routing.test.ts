import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { call, errorCode } from '../../common/http/call.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { jobsAccepted, stubPoolFixture } from './helpers.ts'

const image = Buffer.alloc(2048, 7)
const post = (gateway: RunningGateway, headers: Record<string, string> = {}, path = '/predict') =>
  call(`${gateway.url}${path}`, { body: image, headers: { 'content-type': 'image/jpeg', ...headers } })

describe('gateway: answers, routing, late binding', () => {
  const { stubs, gatewayFor, closeAll } = stubPoolFixture()
  after(closeAll)

  test('POST /predict passes the replica answer on, with queue_size, replica, gateway timings and X-Queue-Size', async () => {
    const [stub] = await stubs({ name: 'one' })
    const gateway = await gatewayFor([stub!])
    const response = await post(gateway, { 'x-request-id': 'req-1', 'x-timeout-ms': '5000' })
    assert.equal(response.status, 200)
    assert.equal(response.body.prediction, 'one: 100.00%')
    assert.equal(response.body.queue_size, 0)
    assert.equal(response.body.replica, stub!.url)
    assert.equal(response.body.replica_id, 'one')
    assert.equal(response.body.request_id, 'req-1')
    for (const key of ['gateway_queue', 'upstream', 'total', 'preprocess', 'inference']) {
      assert.equal(typeof response.body.timing_ms[key], 'number', key)
    }
    assert.ok(response.body.timing_ms.total >= response.body.timing_ms.upstream)
    assert.equal(response.headers['x-queue-size'], '0')
    // The replica got the same id, the remaining budget, and the body byte for byte.
    const seen = stub!.requests.at(-1)!
    assert.equal(seen.headers['x-request-id'], 'req-1')
    assert.ok(Number(seen.headers['x-timeout-ms']) > 4000 && Number(seen.headers['x-timeout-ms']) <= 5000)
    assert.equal(seen.bytes, image.length)
    const alias = await post(gateway, {}, '/add_to_queue')
    assert.equal(alias.status, 200)
    assert.equal(alias.body.prediction, 'one: 100.00%')
    assert.equal(alias.body.queue_size, 0)
  })

  test('every answer reports the queue size, errors included', async () => {
    const [stub] = await stubs({})
    const gateway = await gatewayFor([stub!])
    for (const path of ['/queue', '/replicas', '/healthz', '/nope']) {
      assert.match(String((await call(`${gateway.url}${path}`)).headers['x-queue-size']), /^\d+$/, path)
    }
  })

  test('late binding: the queue holds the jobs, each replica gets one at a time, and the fast replica gets more', async () => {
    // 20× apart: routing learns latency by peak-EWMA, which one late answer raises at once, so only a pause of this
    // process longer than the difference (190 ms) could make the fast replica look the slower.
    const [fast, slow] = await stubs({ name: 'fast', delayMs: 10 }, { name: 'slow', delayMs: 200 })
    const gateway = await gatewayFor([fast!, slow!])
    let maxInflight = 0
    for (const stub of [fast!, slow!]) stub.on('request', () => (maxInflight = Math.max(maxInflight, stub.inflight)))
    const answers = await Promise.all(Array.from({ length: 40 }, () => post(gateway, { 'x-timeout-ms': '10000' })))
    assert.ok(answers.every((a) => a.status === 200))
    assert.equal(maxInflight, 1, 'never more than one request at a replica with one slot')
    assert.ok(
      fast!.requests.length > 2 * slow!.requests.length,
      `fast ${fast!.requests.length}, slow ${slow!.requests.length}`,
    )
    assert.ok(
      answers.some((a) => a.body.queue_size > 0),
      'requests waited in the gateway queue',
    )
  })

  test('round-robin, selectable by config, spreads evenly whatever the speed', async () => {
    const [a, b] = await stubs({ name: 'a', delayMs: 5 }, { name: 'b', delayMs: 25 })
    const gateway = await gatewayFor([a!, b!], ['--routing', 'round-robin'])
    for (let i = 0; i < 20; i++) assert.equal((await post(gateway)).status, 200)
    assert.equal(a!.requests.length, 10)
    assert.equal(b!.requests.length, 10)
  })

  test('low priority waits while normal requests are queued', async () => {
    const [stub] = await stubs({})
    const gateway = await gatewayFor([stub!])
    const order: string[] = []
    // The blocker keeps the one slot until all four are queued: otherwise a slow machine may not queue the normal
    // requests before the slot frees, and the low one goes out first with nothing to wait for.
    const release = stub!.holdAnswers()
    const blocker = post(gateway)
    await stub!.received(1)
    const queued = jobsAccepted(gateway, 4)
    const low = post(gateway, { 'x-priority': 'low', 'x-request-id': 'low' }).then(() => order.push('low'))
    const normals = [1, 2, 3].map((i) => post(gateway, { 'x-request-id': `n${i}` }).then(() => order.push(`n${i}`)))
    await queued
    release()
    await Promise.all([blocker, low, ...normals])
    assert.equal(order.at(-1), 'low')
    assert.equal((await post(gateway, { 'x-priority': 'urgent' })).status, 400)
  })

  test('bad input is refused at the gateway with a clear 4xx JSON error', async () => {
    const [stub] = await stubs({})
    const gateway = await gatewayFor([stub!])
    const cases: [Record<string, string>, Buffer | string, number, string][] = [
      [{ 'content-type': 'text/plain' }, 'hello', 415, 'unsupported_media_type'],
      [{ 'content-type': 'application/json' }, '{}', 415, 'unsupported_media_type'],
      [{ 'content-type': 'image/jpeg' }, '', 400, 'empty_body'],
      [{ 'content-type': 'image/jpeg' }, Buffer.alloc(11 * 1024 * 1024), 413, 'payload_too_large'],
      [{ 'content-type': 'image/jpeg', 'x-timeout-ms': '-1' }, image, 400, 'invalid_header'],
      [{ 'content-type': 'image/jpeg', 'x-timeout-ms': 'abc' }, image, 400, 'invalid_header'],
    ]
    const before = stub!.requests.length
    for (const [headers, body, status, code] of cases) {
      const response = await call(`${gateway.url}/predict`, { body, headers })
      assert.equal(response.status, status, JSON.stringify(response.body))
      assert.equal(errorCode(response), code)
    }
    assert.equal(stub!.requests.length, before, 'none of them reached a replica')
    assert.equal((await call(`${gateway.url}/predict`, { method: 'GET' })).status, 405)
    assert.equal((await post(gateway)).status, 200)
  })

  test('a replica error about the input (4xx) is passed on as it is, not retried', async () => {
    const [picky, other] = await stubs({ name: 'picky', mode: 'reject400' }, { name: 'other', mode: 'reject400' })
    const gateway = await gatewayFor([picky!, other!])
    const response = await post(gateway, { 'x-request-id': 'bad-1' })
    assert.equal(response.status, 400)
    assert.deepEqual(response.body, { error: 'not decodable', code: 'invalid_image', request_id: 'bad-1' })
    assert.equal(picky!.requests.length + other!.requests.length, 1)
  })
})
