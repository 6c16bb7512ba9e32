import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postImage } from '../../common/http/call.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

describe('security basics', () => {
  let replica: StubReplica
  let bystander: StubReplica
  let gateway: RunningGateway

  before(async () => {
    replica = await StubReplica.start({ name: 'configured' })
    // A server that is not in the configuration: nothing a client sends may make the gateway call it.
    bystander = await StubReplica.start({ name: 'bystander' })
    gateway = await startTestGateway(['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'])
    await routable(gateway, 1)
  })
  after(async () => {
    await gateway.shutdown(1000)
    await replica.close()
    await bystander.close()
  })

  test('no SSRF: the replica list comes from configuration only, whatever the request says', async () => {
    const target = bystander.url
    const attempts = [
      postImage(`${gateway.url}/predict?replica=${encodeURIComponent(target)}`, Buffer.from('x')),
      postImage(`${gateway.url}/predict`, Buffer.from('x'), {
        'x-replica': target,
        'x-forwarded-host': new URL(target).host,
      }),
      postImage(`${gateway.url}/predict?model=${encodeURIComponent(`../../${target}`)}`, Buffer.from('x')),
      call(`${gateway.url}/${target}`),
      call(`${gateway.url}/predict`, {
        method: 'POST',
        body: 'x',
        headers: { host: new URL(target).host, 'content-type': 'image/jpeg' },
      }),
    ]
    await Promise.all(attempts)
    assert.equal(bystander.requests.length, 0)
    assert.deepEqual(
      gateway.pool.all.map((r) => r.url),
      [replica.url],
    )
  })

  test('nothing mutates state but predictions and batch jobs: every other route is read-only, unknown methods are 404/405 JSON', async () => {
    // Batch jobs only read images from named folders of DATASETS_DIR (a name is never a path: batch-jobs.test.ts).
    const writable = gateway.app.declaredRoutes
      .filter((r) => !['GET', 'HEAD'].includes(r.method))
      .map((r) => `${r.method} ${r.url}`)
    assert.deepEqual(writable.sort(), ['DELETE /batch/:id', 'POST /add_to_queue', 'POST /batch', 'POST /predict'])
    for (const [method, path] of [
      ['DELETE', '/replicas'],
      ['PUT', '/autoscale'],
      ['POST', '/replicas'],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { method, body: method === 'DELETE' ? undefined : '{}' })
      assert.ok(response.status === 404 || response.status === 405, `${method} ${path}: ${response.status}`)
      errorCode({ status: response.status, headers: {}, body: await response.json() })
    }
  })

  test('answers leak no stack traces or framework banners', async () => {
    const responses = [
      await call(`${gateway.url}/nope`),
      await call(`${gateway.url}/predict`, { method: 'POST', body: '', headers: { 'content-type': 'image/jpeg' } }),
      await call(`${gateway.url}/predict`, {
        method: 'POST',
        body: '{bad json',
        headers: { 'content-type': 'application/json' },
      }),
    ]
    for (const response of responses) {
      assert.ok(response.status >= 400 && response.status < 500, String(response.status))
      errorCode(response)
      const text = JSON.stringify(response.body) + JSON.stringify(response.headers)
      assert.doesNotMatch(text, /\bat \S+ \(|\.ts:\d+|node:internal|x-powered-by/i)
    }
  })
})
