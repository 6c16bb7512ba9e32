import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { call, errorCode } from '../../common/testing/http.ts'
import { admissionRefusal, type LoadNow, requestBudget, wakingFromZero } from '../src/admission/admission.ts'
import { startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const settings = { defaultTimeoutMs: 30_000, sloMs: 500 }
const asleep: LoadNow = {
  shuttingDown: false,
  readyReplicas: 0,
  queueRoom: 'ok',
  queued: 3,
  replicas: [],
  measuredPace: 10,
  recentPerSecond: 10,
}

test('waking from zero: only with MIN_REPLICAS=0, an actuator and no replica ready anywhere in the pool (property)', () => {
  fc.assert(
    fc.property(fc.nat(3), fc.boolean(), fc.nat(3), (min, actuated, ready) => {
      assert.equal(wakingFromZero(min, actuated, ready), min === 0 && actuated && ready === 0)
    }),
  )
})

test('admission while waking: queued within the deadline instead of no_replica; still refused when shutting down or full', () => {
  const budget = requestBudget(undefined, settings)
  assert.equal(admissionRefusal(undefined, budget, asleep, settings)?.code, 'no_replica')
  assert.equal(admissionRefusal(undefined, budget, { ...asleep, wakingUp: true }, settings), undefined)
  // A deep queue with nothing to estimate from is not refused on time: the deadline bounds the wait.
  assert.equal(admissionRefusal(undefined, budget, { ...asleep, queued: 500, wakingUp: true }, settings), undefined)
  assert.equal(
    admissionRefusal(undefined, budget, { ...asleep, wakingUp: true, queueRoom: 'count' }, settings)?.code,
    'queue_full',
  )
  assert.equal(
    admissionRefusal(undefined, budget, { ...asleep, wakingUp: true, shuttingDown: true }, settings)?.code,
    'shutting_down',
  )
})

test('MIN_REPLICAS=0: a request to a pool with no replica waits while the autoscaler wakes one, then is answered', async () => {
  const scales: number[] = []
  let lease: { metadata: { resourceVersion: string } } | undefined
  const api = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const json = (status: number, value: unknown) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
      if (request.url!.startsWith('/apis/coordination.k8s.io/v1/namespaces/ml/leases')) {
        if (request.method === 'GET') return lease ? json(200, lease) : json(404, { kind: 'Status' })
        lease = {
          ...JSON.parse(body),
          metadata: { resourceVersion: String(Number(lease?.metadata.resourceVersion ?? 0) + 1) },
        }
        return json(request.method === 'POST' ? 201 : 200, lease)
      }
      if (request.method === 'PATCH') {
        scales.push(JSON.parse(body).spec.replicas)
        api.emit('scaled', scales.at(-1))
      }
      return json(200, { kind: 'Scale', spec: { replicas: scales.at(-1) ?? 0 } })
    })
  })
  api.listen(0, '127.0.0.1')
  await once(api, 'listening')
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-zero-'))
  const replicasFile = join(dir, 'replicas.txt')
  await writeFile(replicasFile, '# asleep: no replica\n')
  await writeFile(join(dir, 'token'), 'token\n')
  const stub = await StubReplica.start({ delayMs: 10 })
  const gateway = await startTestGateway([
    ...['--discovery', 'static', '--replicas-file', replicasFile, '--autoscaler', 'kubernetes', '--min-replicas', '0'],
    ...[
      '--kube-api-url',
      `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      '--kube-token-file',
      join(dir, 'token'),
    ],
    ...['--kube-namespace', 'ml', '--kube-deployment', 'resnet', '--autoscale-interval-ms', '50'],
  ])
  try {
    assert.equal(gateway.pool.readyCount(), 0)
    // Ready with no replica: asleep, it must still receive the request that wakes the pool.
    const readiness = await call(`${gateway.url}/readyz`)
    assert.equal(readiness.status, 200)
    assert.deepEqual(readiness.body, { ready: true, replicas_ready: 0 })
    // The wake-up: once the autoscaler asks for a replica, "the pod starts" (the stub is listed).
    const woken = new Promise<void>((resolve) => {
      const onScaled = (replicas: number) => {
        if (replicas < 1) return
        api.off('scaled', onScaled)
        void writeFile(replicasFile, `${stub.url}\n`).then(resolve)
      }
      api.on('scaled', onScaled)
    })
    const answer = call(`${gateway.url}/predict`, {
      body: Buffer.alloc(100, 1),
      headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': '60000' },
    })
    await woken
    const result = await answer
    assert.equal(
      result.status,
      200,
      `answered once awake, not refused (${result.status === 200 ? '' : errorCode(result)})`,
    )
    assert.ok(scales.some((n) => n >= 1))
  } finally {
    await gateway.shutdown(1000)
    await stub.close()
    api.close()
    await rm(dir, { recursive: true, force: true })
  }
})
