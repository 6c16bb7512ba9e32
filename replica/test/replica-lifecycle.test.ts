import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import { call, errorCode, postImage } from '../../common/http/call.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { RawConnection, rawPost } from '../../common/testing/raw-http.ts'
import { spawnTestReplica, startTestReplica } from './helpers.ts'

const images = someSampleImages(12, 31).map((i) => i.bytes())

/** Resolves once the replica's HTTP server has received `count` requests. */
function requestsReceived(server: import('node:http').Server, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0
    const onRequest = () => {
      if (++seen < count) return
      server.off('request', onRequest)
      resolve()
    }
    server.on('request', onRequest)
  })
}

describe('replica lifecycle', () => {
  test('/readyz is 503 until the warm-up inference has run, then 200', async () => {
    const replica = await startTestReplica([], { warmUp: false })
    try {
      const before = await call(`${replica.url}/readyz`)
      assert.equal(before.status, 503)
      assert.deepEqual([before.body.ready, before.body.reason], [false, 'warming up'])
      await replica.warmUp()
      const afterWarmUp = await call(`${replica.url}/readyz`)
      assert.equal(afterWarmUp.status, 200)
      assert.equal(afterWarmUp.body.ready, true)
      assert.equal(afterWarmUp.body.models[0].name, 'resnet18')
    } finally {
      await replica.shutdown(1000)
    }
  })

  test('a full queue answers 503 with Retry-After; everything admitted is answered 200', async () => {
    const replica = await startTestReplica(['--max-queue', '2', '--max-batch-size', '1'])
    try {
      const responses = await Promise.all(images.map((image) => postImage(`${replica.url}/predict`, image)))
      const statuses = responses.map((r) => r.status)
      const rejected = responses.filter((r) => r.status === 503)
      assert.ok(rejected.length > 0, `expected some 503s, got ${statuses}`)
      assert.equal(rejected.length + statuses.filter((s) => s === 200).length, images.length, `statuses ${statuses}`)
      for (const response of rejected) {
        assert.equal(errorCode(response), 'queue_full')
        assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/)
      }
    } finally {
      await replica.shutdown(5000)
    }
  })

  test('requests whose deadline passes while queued get 504 and cost no inference', async () => {
    const replica = await startTestReplica(['--max-batch-size', '1', '--max-queue', '64', '--max-inflight', '64'])
    try {
      const responses = await Promise.all(
        images.map((image) => postImage(`${replica.url}/predict`, image, { 'x-timeout-ms': '80' })),
      )
      const ok = responses.filter((r) => r.status === 200).length
      const expired = responses.filter((r) => r.status === 504)
      assert.ok(expired.length > 0, `expected some 504s, got ${responses.map((r) => r.status)}`)
      assert.equal(ok + expired.length, images.length)
      for (const response of expired) assert.equal(errorCode(response), 'deadline_exceeded')
      // The batch-size histogram counts every image that reached the model.
      const metrics = (await call(`${replica.url}/metrics`)).body as string
      const inferred = Number(/^replica_batch_size_sum (\d+)/m.exec(metrics)?.[1])
      assert.equal(inferred, ok)
    } finally {
      await replica.shutdown(5000)
    }
  })

  test('shutdown drains: requests in flight are answered, new ones are refused, then the port closes', async () => {
    const replica = await startTestReplica(['--max-batch-size', '2'])
    const inFlight = images.slice(0, 6)
    // Shutdown begins the moment the last request's headers arrive, before any of its (async) hooks has run:
    // it arrived first, so it is in flight too.
    const stopped = new Promise<void>((resolve, reject) => {
      let seen = 0
      const onRequest = () => {
        if (++seen < inFlight.length) return
        replica.app.server.off('request', onRequest)
        replica.shutdown(20_000).then(resolve, reject)
        assert.equal(replica.state.draining, true)
      }
      replica.app.server.on('request', onRequest)
    })
    const pending = inFlight.map((image) => postImage(`${replica.url}/predict`, image))
    const answers = await Promise.all(pending)
    assert.deepEqual(
      answers.map((a) => a.status),
      inFlight.map(() => 200),
    )
    await stopped
    await assert.rejects(call(`${replica.url}/healthz`), /ECONNREFUSED/)
  })

  test('while draining, /readyz is 503 and a new prediction is refused shutting_down', async () => {
    const replica = await startTestReplica([])
    // A request held in flight by its unfinished body keeps the replica draining (and listening) until it ends.
    const held = await RawConnection.open(replica.url)
    const wire = rawPost('/predict', { 'content-type': 'image/jpeg' }, images[0]!)
    const arrived = requestsReceived(replica.app.server, 1)
    held.write(wire.subarray(0, wire.length - 100))
    await arrived
    const stopped = replica.shutdown(20_000)
    try {
      assert.equal((await call(`${replica.url}/readyz`)).status, 503)
      const refused = await postImage(`${replica.url}/predict`, images[1]!)
      assert.equal(refused.status, 503)
      assert.equal(errorCode(refused), 'shutting_down')
      held.write(wire.subarray(wire.length - 100))
      assert.equal((await held.nextResponse()).status, 200)
    } finally {
      held.close()
      await stopped
    }
  })

  test('SIGTERM to the replica process: in-flight requests complete, then it exits 0', async () => {
    const { child, url } = await spawnTestReplica()
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const pending = images.slice(0, 4).map((image) => postImage(`${url}/predict`, image))
    let answered = 0
    for (const p of pending) p.finally(() => answered++).catch(() => {})
    // Signal once the replica has admitted all four (it reports its in-flight count on /readyz).
    while (answered === 0 && (await call(`${url}/readyz`)).body.inflight < 4) {}
    child.kill('SIGTERM')
    const answers = await Promise.all(pending)
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200],
    )
    const [code] = await once(child, 'exit')
    assert.equal(code, 0)
  })
})
