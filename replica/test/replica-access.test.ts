import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postImage } from '../../common/http/call.ts'
import { sampleImages } from '../../common/sample-images.ts'
import type { RunningGateway } from '../../gateway/src/gateway.ts'
import { routable, startTestGateway } from '../../gateway/test/helpers.ts'
import type { RunningReplica } from '../src/replica.ts'
import { startTestReplica } from './helpers.ts'

const tench = sampleImages()[0]!
const GATEWAY_TOKEN = 'gateway-to-replica-0123456789'
const ADMIN_TOKEN = 'replica-admin-0123456789abcd'
const auth = (token: string) => ({ authorization: `Bearer ${token}` })

describe('a replica with a tokens file (real model)', () => {
  let replica: RunningReplica
  let dir: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-replica-tokens-'))
    writeFileSync(join(dir, 'tokens'), `predict ${GATEWAY_TOKEN} gateways\nadmin ${ADMIN_TOKEN} ops\n`)
    replica = await startTestReplica([
      '--models-dir',
      'none',
      '--tokens-file',
      join(dir, 'tokens'),
      '--metrics-port',
      '0',
    ])
  })
  after(async () => {
    await replica?.shutdown(5000)
  })

  test('predictions need a token by default (its clients are gateways); probes stay open; /models needs admin', async () => {
    const anonymous = await postImage(`${replica.url}/predict`, tench.bytes())
    assert.equal(anonymous.status, 401)
    assert.equal(errorCode(anonymous), 'unauthorized')
    assert.equal((await postImage(`${replica.url}/predict`, tench.bytes(), auth('nope-0123456789abcdef'))).status, 401)
    const answered = await postImage(`${replica.url}/predict`, tench.bytes(), auth(GATEWAY_TOKEN))
    assert.equal(answered.status, 200)
    assert.match(answered.body.prediction, /%$/)
    for (const path of ['/healthz', '/readyz']) assert.equal((await call(`${replica.url}${path}`)).status, 200, path)
    assert.equal((await call(`${replica.url}/models`, { headers: auth(GATEWAY_TOKEN) })).status, 403)
    assert.equal((await call(`${replica.url}/models`, { headers: auth(ADMIN_TOKEN) })).status, 200)
    assert.equal((await call(`${replica.url}/docs/json`)).status, 401)
  })

  test('METRICS_PORT: /metrics alone there, without a token; gone from the main port', async () => {
    assert.ok(replica.metricsUrl)
    const scraped = await call(`${replica.metricsUrl}/metrics`)
    assert.equal(scraped.status, 200)
    assert.match(scraped.body, /replica_/)
    assert.equal((await call(`${replica.url}/metrics`, { headers: auth(ADMIN_TOKEN) })).status, 404)
  })

  test('a gateway presenting REPLICA_TOKEN_FILE gets predictions through it', async () => {
    writeFileSync(join(dir, 'replica-token'), `${GATEWAY_TOKEN}\n`)
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'],
      ...['--replica-token-file', join(dir, 'replica-token')],
    ])
    try {
      await routable(gateway, 1)
      const answered = await postImage(`${gateway.url}/predict`, tench.bytes())
      assert.equal(answered.status, 200)
      assert.match(answered.body.prediction, /: [\d.]+%$/)
    } finally {
      await gateway.shutdown(5000)
    }
  })
})

describe('local discovery with a tokens file: zero configuration for the replicas it spawns', () => {
  let gateway: RunningGateway

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-local-tokens-'))
    writeFileSync(join(dir, 'tokens'), `admin ${ADMIN_TOKEN}\n`)
    gateway = await startTestGateway([
      ...['--discovery', 'local', '--local-replicas', '1', '--autoscaler', 'none'],
      ...['--tokens-file', join(dir, 'tokens'), '--local-replica-args=--models-dir none'],
    ])
    await routable(gateway, 1)
  })
  after(async () => {
    await gateway?.shutdown(10_000)
  })

  test('its replicas take its requests without a token of their own; its operational routes need ours', async () => {
    assert.equal((await postImage(`${gateway.url}/predict`, tench.bytes())).status, 200)
    assert.equal((await call(`${gateway.url}/replicas`)).status, 401)
    const replicas = await call(`${gateway.url}/replicas`, { headers: auth(ADMIN_TOKEN) })
    assert.equal(replicas.status, 200)
    assert.match(replicas.body.replicas[0].url, /^http:\/\/127\.0\.0\.1:/, 'local replicas listen on loopback')
  })
})
