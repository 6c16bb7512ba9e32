import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { call, errorCode } from '../../common/http/call.ts'
import { admissionRefusal, type LoadNow, requestBudget, wakingFromZero } from '../src/admission/admission.ts'
import { fakeKubernetes } from './fake-kubernetes.ts'
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
  const api = await fakeKubernetes(0)
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-zero-'))
  const replicasFile = join(dir, 'replicas.txt')
  await writeFile(replicasFile, '# asleep: no replica\n')
  await writeFile(join(dir, 'token'), 'token\n')
  const stub = await StubReplica.start({ delayMs: 10 })
  const gateway = await startTestGateway([
    ...['--discovery', 'static', '--replicas-file', replicasFile, '--autoscaler', 'kubernetes', '--min-replicas', '0'],
    ...['--kube-api-url', api.url, '--kube-token-file', join(dir, 'token')],
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
        api.events.off('scaled', onScaled)
        void writeFile(replicasFile, `${stub.url}\n`).then(resolve)
      }
      api.events.on('scaled', onScaled)
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
    assert.ok(api.scaleWrites.some((write) => write.replicas >= 1))
  } finally {
    await gateway.shutdown(1000)
    await stub.close()
    await api.close()
    await rm(dir, { recursive: true, force: true })
  }
})
