import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postImage, postJson } from '../../common/http/call.ts'
import { PeerDemand } from '../src/autoscale/peer-demand.ts'
import { type BatchClientError, runBatchJobOverHttp } from '../src/batch/batch-client.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { WEB_PAGE_CSP } from '../src/web-page.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const TOKENS = {
  admin: 'admin-0123456789abcdef0123',
  alice: 'alice-batch-0123456789abcdef',
  bob: 'bob-batch-0123456789abcdef00',
  predict: 'predict-0123456789abcdef012',
}
const TOKENS_TEXT = `# role token name
admin ${TOKENS.admin} ops
batch ${TOKENS.alice} alice
batch ${TOKENS.bob} bob
predict ${TOKENS.predict}
`

const auth = (token: string) => ({ authorization: `Bearer ${token}` })

/** Replaces a file the way an operator's tooling (or a Kubernetes Secret update) does: a new file renamed over it. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}

function datasetsDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
  mkdirSync(join(root, 'tiny'))
  writeFileSync(join(root, 'tiny', 'n00000001_stub.jpg'), 'img')
  return root
}

describe('access control: a real gateway with a tokens file', () => {
  let replica: StubReplica
  let gateway: RunningGateway
  let dir: string
  let tokensFile: string
  let replicaTokenFile: string

  before(async () => {
    replica = await StubReplica.start({ models: [{ name: 'stub', version: '1' }] })
    dir = mkdtempSync(join(tmpdir(), 'switchyard-tokens-'))
    tokensFile = join(dir, 'tokens')
    writeFileSync(tokensFile, TOKENS_TEXT)
    replicaTokenFile = join(dir, 'replica-token')
    writeFileSync(replicaTokenFile, 'replica-secret-0123456789abcdef\n')
    gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'],
      ...['--tokens-file', tokensFile, '--replica-token-file', replicaTokenFile],
      ...['--datasets-dir', datasetsDir(), '--batch-max-active-jobs', '2'],
    ])
    await routable(gateway, 1)
  })
  after(async () => {
    await gateway?.shutdown(2000)
    await replica?.close()
  })

  test('each role: 401 without a token, 403 with a lower role, 200 with the role needed (or above)', async () => {
    const table: { path: string; needs: 'admin' | 'batch' }[] = [
      { path: '/replicas', needs: 'admin' },
      { path: '/queue', needs: 'admin' },
      { path: '/models', needs: 'admin' },
      { path: '/autoscale', needs: 'admin' },
      { path: '/metrics', needs: 'admin' },
      { path: '/openapi.json', needs: 'admin' },
      { path: '/batch', needs: 'batch' },
      { path: '/datasets', needs: 'batch' },
    ]
    for (const { path, needs } of table) {
      const url = `${gateway.url}${path}`
      const anonymous = await call(url)
      assert.equal(anonymous.status, 401, path)
      assert.equal(errorCode(anonymous), 'unauthorized', path)
      assert.match(String(anonymous.headers['www-authenticate']), /^Bearer realm="switchyard"$/, path)
      const wrong = await call(url, { headers: auth('not-a-token-0123456789abcdef') })
      assert.equal(wrong.status, 401, path)
      assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/, path)
      const low = await call(url, { headers: auth(TOKENS.predict) })
      assert.equal(low.status, 403, path)
      assert.equal(errorCode(low), 'forbidden', path)
      if (needs === 'admin') assert.equal((await call(url, { headers: auth(TOKENS.alice) })).status, 403, path)
      else assert.equal((await call(url, { headers: auth(TOKENS.alice) })).status, 200, path)
      assert.equal((await call(url, { headers: auth(TOKENS.admin) })).status, 200, `${path} as admin`)
    }
    // Another scheme, or a token with trailing junk, is no token.
    assert.equal(
      (await call(`${gateway.url}/replicas`, { headers: { authorization: `Basic ${TOKENS.admin}` } })).status,
      401,
    )
    assert.equal(
      (await call(`${gateway.url}/replicas`, { headers: { authorization: `Bearer ${TOKENS.admin}x` } })).status,
      401,
    )
  })

  test('open by default: predictions, the live panel, probes and the page need no token; the replica gets ours', async () => {
    const prediction = await postImage(`${gateway.url}/predict`, Buffer.from('img'))
    assert.equal(prediction.status, 200)
    assert.equal(replica.requests.at(-1)?.headers.authorization, 'Bearer replica-secret-0123456789abcdef')
    for (const path of ['/live', '/healthz', '/readyz', '/', '/app.js', '/vendor/uplot/uPlot.min.css'])
      assert.equal((await call(`${gateway.url}${path}`)).status, 200, path)
    // Unknown URLs are 404 with or without a token (not 401: nothing is there to protect).
    assert.equal((await call(`${gateway.url}/nothing-here`, { method: 'POST' })).status, 404)
  })

  test('fail closed: every declared route needs a token unless it is on the short list of open ones', async () => {
    const open = new Set(['/healthz', '/readyz', '/live', '/predict', '/add_to_queue', '/', '/*', '/vendor/uplot/*'])
    const checked: string[] = []
    for (const route of gateway.app.declaredRoutes) {
      if (route.method === 'HEAD' || open.has(route.url)) continue
      const path = route.url.replace(':id', '00000000-0000-0000-0000-000000000000').replace('*', 'x')
      const response = await call(`${gateway.url}${path}`, { method: route.method as 'GET' | 'POST' | 'DELETE' })
      assert.equal(response.status, 401, `${route.method} ${route.url} answered ${response.status} without a token`)
      checked.push(`${route.method} ${route.url}`)
    }
    assert.ok(checked.includes('GET /docs'), checked.join(', '))
    assert.ok(checked.includes('DELETE /batch/:id'), checked.join(', '))
    // The OpenAPI document says so: a bearer scheme, required here, optional for predictions, none for probes.
    const doc = (await call(`${gateway.url}/openapi.json`, { headers: auth(TOKENS.admin) })).body
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer')
    assert.deepEqual(doc.paths['/replicas'].get.security, [{ bearer: [] }])
    assert.ok(doc.paths['/replicas'].get.responses['401'] && doc.paths['/replicas'].get.responses['403'])
    assert.deepEqual(doc.paths['/predict'].post.security, [{}, { bearer: [] }])
    assert.equal(doc.paths['/healthz'].get.security, undefined)
  })

  test('batch jobs: a quota per token (429), and each batch token sees and cancels only its own', async () => {
    const release = replica.holdAnswers()
    try {
      const spec = { model: 'stub', dataset: 'tiny' }
      const first = await postJson(`${gateway.url}/batch`, spec, auth(TOKENS.alice))
      const second = await postJson(`${gateway.url}/batch`, spec, auth(TOKENS.alice))
      assert.deepEqual([first.status, second.status], [202, 202])
      const third = await postJson(`${gateway.url}/batch`, spec, auth(TOKENS.alice))
      assert.equal(third.status, 429)
      assert.equal(errorCode(third), 'too_many_jobs')
      // Another token has its own quota.
      const bobs = await postJson(`${gateway.url}/batch`, spec, auth(TOKENS.bob))
      assert.equal(bobs.status, 202)

      const bobSees = await call(`${gateway.url}/batch`, { headers: auth(TOKENS.bob) })
      assert.deepEqual(
        bobSees.body.jobs.map((j: { id: string }) => j.id),
        [bobs.body.id],
      )
      const adminSees = await call(`${gateway.url}/batch`, { headers: auth(TOKENS.admin) })
      assert.deepEqual(
        adminSees.body.jobs.map((j: { owner: string }) => j.owner),
        ['bob', 'alice', 'alice'],
      )
      const aliceJob = `${gateway.url}/batch/${second.body.id}`
      assert.equal((await call(aliceJob, { headers: auth(TOKENS.bob) })).status, 404)
      assert.equal((await call(aliceJob, { method: 'DELETE', headers: auth(TOKENS.bob) })).status, 404)
      assert.equal((await call(aliceJob, { headers: auth(TOKENS.alice) })).status, 200)
      // Cancelling one frees a place in the quota.
      const cancelled = await call(aliceJob, { method: 'DELETE', headers: auth(TOKENS.alice) })
      assert.equal(cancelled.body.status, 'cancelled')
      assert.equal((await postJson(`${gateway.url}/batch`, spec, auth(TOKENS.alice))).status, 202)
    } finally {
      release()
    }
  })

  test('a command that runs batch jobs over HTTP (the gate) presents its token; without one it gets the 401', async () => {
    const spec = { model: 'stub', dataset: 'tiny' }
    const job = await runBatchJobOverHttp(gateway.url, spec, { token: TOKENS.bob, pollMs: 20 })
    assert.equal(job.status, 'succeeded')
    await assert.rejects(runBatchJobOverHttp(gateway.url, spec), (error: BatchClientError) => error.status === 401)
  })

  test('rotation: a rewritten tokens file applies without a restart (old token refused, new one accepted)', async () => {
    const rotated = 'admin-rotated-0123456789abcdef'
    const reloaded = once(gateway.tokens!, 'reloaded')
    replaceFile(tokensFile, TOKENS_TEXT.replace(TOKENS.admin, rotated))
    await reloaded
    assert.equal((await call(`${gateway.url}/replicas`, { headers: auth(TOKENS.admin) })).status, 401)
    assert.equal((await call(`${gateway.url}/replicas`, { headers: auth(rotated) })).status, 200)

    // A broken file (no token left) is refused and the last good tokens kept: nobody is locked out by a typo.
    const rejected = once(gateway.tokens!, 'rejected')
    replaceFile(tokensFile, '# emptied by mistake\n')
    await rejected
    assert.equal((await call(`${gateway.url}/replicas`, { headers: auth(rotated) })).status, 200)

    // SIGHUP's path (gateway.reload) reads it again too.
    writeFileSync(tokensFile, TOKENS_TEXT)
    await gateway.reload()
    assert.equal((await call(`${gateway.url}/replicas`, { headers: auth(TOKENS.admin) })).status, 200)
  })

  test('peers: /autoscale answers only an admin token, so what peers add up comes from gateways that hold one', async () => {
    const peerDemand = (token?: string) => {
      const refusals: (number | undefined)[] = []
      const demand = new PeerDemand({
        self: 'another-gateway',
        list: async () => [gateway.url],
        maxAgeMs: 60_000,
        timeoutMs: 5000,
        token: () => token,
        onAuthChange: (_url, refused) => refusals.push(refused),
      })
      return { demand, refusals }
    }
    const withToken = peerDemand(TOKENS.admin)
    await withToken.demand.refresh()
    assert.equal(withToken.demand.peers().length, 1)
    assert.deepEqual(withToken.refusals, [])

    for (const token of [undefined, TOKENS.alice]) {
      const without = peerDemand(token)
      await without.demand.refresh()
      assert.equal(without.demand.peers().length, 0, `token ${token}`)
      assert.deepEqual(without.refusals, [token === undefined ? 401 : 403])
    }
  })
})

describe('access control: two gateways', () => {
  test('a gateway with PEER_TOKEN_FILE counts its peer; one without a token counts nobody', async () => {
    const replica = await StubReplica.start()
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-peers-'))
    writeFileSync(join(dir, 'tokens'), TOKENS_TEXT)
    writeFileSync(join(dir, 'peer-token'), `${TOKENS.admin}\n`)
    const common = ['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none']
    const a = await startTestGateway([...common, '--tokens-file', join(dir, 'tokens')])
    const peerFlags = ['--peers', a.url, '--autoscale-interval-ms', '50', '--gateway-id']
    const withToken = await startTestGateway([
      ...common,
      ...peerFlags,
      'b',
      '--peer-token-file',
      join(dir, 'peer-token'),
    ])
    const without = await startTestGateway([...common, ...peerFlags, 'c'])
    try {
      // Decisions come every 50 ms; each one after a peer round reflects what that round fetched.
      while (withToken.autoscaler.status?.peers !== 1) await once(withToken.autoscaler, 'decision')
      let rounds = 0
      while (rounds++ < 10) await once(without.autoscaler, 'decision')
      assert.equal(without.autoscaler.status.peers, 0)
    } finally {
      await Promise.all([a, withToken, without].map((g) => g.shutdown(2000)))
      await replica.close()
    }
  })
})

describe('access control: other settings', () => {
  test('PREDICT_AUTH: predictions (and the live panel) need a predict token; METRICS_PORT serves /metrics alone, openly', async () => {
    const replica = await StubReplica.start()
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-tokens-'))
    writeFileSync(join(dir, 'tokens'), TOKENS_TEXT)
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'],
      ...['--tokens-file', join(dir, 'tokens'), '--predict-auth', 'true', '--metrics-port', '0'],
    ])
    try {
      await routable(gateway, 1)
      // Refused from its headers, whatever its body (a megabyte here); the requests after it are served.
      const anonymous = await postImage(`${gateway.url}/predict`, Buffer.alloc(1024 * 1024, 1))
      assert.equal(anonymous.status, 401)
      assert.equal(replica.requests.length, 0, 'refused before anything reached a replica')
      assert.equal((await call(`${gateway.url}/live`)).status, 401)
      assert.equal((await postImage(`${gateway.url}/predict`, Buffer.from('img'), auth(TOKENS.predict))).status, 200)
      assert.equal((await postImage(`${gateway.url}/predict`, Buffer.from('img'), auth(TOKENS.bob))).status, 200)
      assert.equal((await call(`${gateway.url}/healthz`)).status, 200)

      assert.ok(gateway.metricsUrl)
      const scraped = await call(`${gateway.metricsUrl}/metrics`)
      assert.equal(scraped.status, 200)
      assert.match(scraped.body, /gateway_requests_total/)
      assert.equal((await call(`${gateway.metricsUrl}/replicas`)).status, 404)
      // Not on the main port any more, with any token.
      assert.equal((await call(`${gateway.url}/metrics`, { headers: auth(TOKENS.admin) })).status, 404)
    } finally {
      await gateway.shutdown(2000)
      await replica.close()
    }
  })

  test('no tokens file: everything stays open (as the other tests rely on), and the page has its CSP', async () => {
    const replica = await StubReplica.start()
    const gateway = await startTestGateway(['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'])
    try {
      for (const path of ['/replicas', '/autoscale', '/metrics', '/batch'])
        assert.equal((await call(`${gateway.url}${path}`)).status, 200, path)
      const page = await call(`${gateway.url}/`)
      assert.equal(page.headers['content-security-policy'], WEB_PAGE_CSP)
      assert.match(WEB_PAGE_CSP, /frame-ancestors 'none'/)
      assert.match(WEB_PAGE_CSP, /script-src 'self'(;|$)/, 'no inline script allowed')
      assert.equal(page.headers['x-content-type-options'], 'nosniff')
      assert.equal(page.headers['x-frame-options'], 'DENY')
      assert.equal((await call(`${gateway.url}/replicas`)).headers['x-content-type-options'], 'nosniff')
    } finally {
      await gateway.shutdown(2000)
      await replica.close()
    }
  })

  test('a tokens file that cannot be used stops the gateway at start with one line naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-tokens-'))
    writeFileSync(join(dir, 'bad'), `admin short\nroot ${TOKENS.admin}\n`)
    for (const [file, pattern] of [
      [join(dir, 'missing'), /TOKENS_FILE .*missing: ENOENT/],
      [join(dir, 'bad'), /TOKENS_FILE .*bad: refused line\(s\): 1 \(a token is at least 16 .*\); 2 \(role must be/],
    ] as const) {
      await assert.rejects(
        startTestGateway(['--discovery', 'static', '--replicas', 'http://127.0.0.1:9', '--tokens-file', file]),
        (error: Error) =>
          error.name === 'MissingDataError' && pattern.test(error.message) && !error.message.includes(TOKENS.admin),
      )
    }
  })
})
