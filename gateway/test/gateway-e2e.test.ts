import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postImage } from '../../common/http/call.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import type { LocalReplicas } from '../src/discovery/local.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { startGatewayWithLocalReplicas } from './helpers.ts'

const images = someSampleImages(12, 41)

const WAITING = { 'x-timeout-ms': '30000' }

describe('gateway with real replicas (local discovery: replica processes spawned by the gateway)', () => {
  let gateway: RunningGateway
  before(async () => {
    gateway = await startGatewayWithLocalReplicas(2)
  })
  after(() => gateway.shutdown(10_000))

  test('a multipart JPEG in, a prediction out, with queue_size and the replica that served it', async () => {
    const response = await postImage(`${gateway.url}/predict`, images[0]!.bytes())
    assert.equal(response.status, 200)
    assert.match(response.body.prediction, /^.+: \d+\.\d{2}%$/)
    assert.equal(response.body.queue_size, 0)
    assert.ok(gateway.pool.get(response.body.replica), 'replica is one the gateway knows')
    assert.match(response.body.replica_id, /^local-\d+$/)
    assert.equal(response.body.model.name, 'resnet18')
    assert.ok(response.body.timing_ms.inference > 0)
    const alias = await postImage(`${gateway.url}/add_to_queue`, images[0]!.bytes())
    assert.equal(alias.body.prediction, response.body.prediction)
    assert.equal(typeof alias.body.queue_size, 'number')
  })

  test('a burst is queued at the gateway and spread over both replicas; answers match the images', async () => {
    const sequential = []
    for (const image of images.slice(0, 4))
      sequential.push((await postImage(`${gateway.url}/predict`, image.bytes())).body)
    // Clients that will wait for a queued answer say so; without X-Timeout-Ms admission holds them to the 500 ms SLO.
    const burst = await Promise.all(images.map((image) => postImage(`${gateway.url}/predict`, image.bytes(), WAITING)))
    assert.ok(burst.every((r) => r.status === 200))
    assert.equal(new Set(burst.map((r) => r.body.replica)).size, 2)
    assert.ok(burst.some((r) => r.body.queue_size > 0))
    for (let i = 0; i < 4; i++) assert.deepEqual(burst[i]!.body.label, sequential[i].label)
  })

  test('a replica’s 4xx about the input comes back as it is', async () => {
    const response = await postImage(`${gateway.url}/predict`, Buffer.from('definitely not a jpeg'))
    assert.equal(response.status, 415)
    assert.equal(errorCode(response), 'unsupported_media_type')
  })

  test('a replica killed with SIGKILL: its requests are answered by the other, and it is restarted and re-admitted', async () => {
    const local = gateway.discovery as LocalReplicas
    const victimUrl = gateway.pool.all[0]!.url
    const pending = images.map((image) => postImage(`${gateway.url}/predict`, image.bytes(), WAITING))
    const victim = local.processes.find((p) => p.url === victimUrl)!
    process.kill(victim.pid, 'SIGKILL')
    const statuses = (await Promise.all(pending)).map((r) => r.status)
    assert.deepEqual(
      statuses,
      statuses.map(() => 200),
    )
    // The supervisor starts a new process (new port); the pool drops the dead one and admits the new one.
    while (gateway.pool.readyCount() < 2 || gateway.pool.get(victimUrl)) {
      await once(gateway.pool, 'change')
    }
    const after = await Promise.all(
      images.slice(0, 6).map((image) => postImage(`${gateway.url}/predict`, image.bytes(), WAITING)),
    )
    assert.equal(new Set(after.map((r) => r.body.replica)).size, 2)
    const metrics = (await call(`${gateway.url}/metrics`)).body as string
    assert.match(metrics, /gateway_replicas_ready 2/)
  })
})
