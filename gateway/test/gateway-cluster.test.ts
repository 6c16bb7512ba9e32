import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import Fastify from 'fastify'
import { errorBodySchema } from '../../common/errors.ts'
import { kubernetesActuator } from '../src/autoscale/actuators/kubernetes.ts'
import { Autoscaler, type AutoscalerOptions } from '../src/autoscale/autoscaler.ts'
import { clusterOf } from '../src/autoscale/gateway-cluster.ts'
import { kubernetesClient } from '../src/autoscale/kubernetes-api.ts'
import { LeaseElector } from '../src/autoscale/lease-elector.ts'
import { PeerDemand } from '../src/autoscale/peer-demand.ts'
import { loadGatewayConfig } from '../src/config.ts'
import { autoscaleRoute } from '../src/routes/autoscale.ts'
import { fakeKubernetes } from './fake-kubernetes.ts'
import { testAutoscalerOptions } from './helpers.ts'

// Room to size for both gateways' demand, and no panic freeze in the way of the scale checked.
const policy: AutoscalerOptions = { ...testAutoscalerOptions, maxReplicas: 50, panicThreshold: 100 }
const LEASE = { leaseDurationS: 15, renewDeadlineS: 10, retryPeriodS: 2 }

describe('several gateways over one replica Deployment (a fake Kubernetes API on 127.0.0.1)', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })
  let now = 1_000_000
  const clock = () => now

  /** One gateway's scaling side: its autoscaler (shown on GET /autoscale), its Lease elector, its view of peers. */
  async function gateway(identity: string, apiUrl: string, peerUrls: () => string[]) {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-lease-'))
    await writeFile(join(dir, 'token'), `${identity}\n`)
    const connection = { apiUrl, tokenFile: join(dir, 'token'), caFile: undefined }
    const elector = new LeaseElector(
      await kubernetesClient(connection),
      { namespace: 'ml', name: 'resnet-autoscaler', identity, ...LEASE },
      clock,
    )
    const peers = new PeerDemand(
      { self: identity, list: async () => peerUrls(), maxAgeMs: 5000, timeoutMs: 2000 },
      clock,
    )
    const actuator = await kubernetesActuator({ ...connection, namespace: 'ml', deployment: 'resnet' })
    const autoscaler = new Autoscaler(
      policy,
      actuator,
      () => ({ backlog: 0, readyReplicas: 3 }),
      now,
      await actuator.current(),
      clusterOf(identity, peers, elector),
    )
    const errors: unknown[] = []
    autoscaler.on('error', (error) => errors.push(error))
    elector.on('error', (error) => errors.push(error))
    const app = Fastify()
    app.addSchema(errorBodySchema)
    await app.register(autoscaleRoute, { autoscaler })
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    cleanup.push(() => app.close())
    return { identity, elector, peers, autoscaler, url, errors }
  }

  test('exactly one writes the scale, sized for both gateways; when it stops renewing the other takes over after expiry', async () => {
    const api = await fakeKubernetes(3)
    cleanup.push(api.close)
    const urls: string[] = []
    const a = await gateway('gateway-a', api.url, () => urls)
    const b = await gateway('gateway-b', api.url, () => urls)
    // A headless Service answers every gateway's address, its own included.
    urls.push(a.url, b.url)

    // Both race for the Lease (both read "none", both create): the API server lets one win.
    await Promise.all([a.elector.step(), b.elector.step()])
    assert.equal([a, b].filter((g) => g.elector.isLeader()).length, 1, JSON.stringify(api.leaseWrites))
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a]
    // The loser learns who won on its next round.
    await follower.elector.step()
    assert.equal(follower.elector.isLeader(), false)
    assert.equal(follower.elector.holder, leader.identity)
    assert.equal(api.lease()?.holderIdentity, leader.identity)

    // Each gateway gets half of 120 req/s for 10 s (a Service splitting traffic), 0.1 s of service each.
    const start = now
    for (let t = start; t < start + 10_000; t += 1000 / 60) {
      a.autoscaler.recordArrival(t)
      b.autoscaler.recordArrival(t)
    }
    now = start + 10_000
    // Rounds every retry period meanwhile: the leader renewed, the follower followed.
    await leader.elector.step()
    await follower.elector.step()
    const alone = a.autoscaler.tick(now).desired
    b.autoscaler.tick(now)
    await Promise.all([a.peers.refresh(), b.peers.refresh()])
    const both = [a.autoscaler.tick(now), b.autoscaler.tick(now)]
    await Promise.all([a.autoscaler.settled(), b.autoscaler.settled()])
    // 60 req/s × 0.1 s / 0.7 → 9 from one share; 120 req/s → 18 for the pool.
    assert.equal(alone, 9)
    assert.deepEqual(
      both.map((s) => [s.desired, s.peers, s.leader]),
      [
        [18, 1, a === leader],
        [18, 1, b === leader],
      ],
    )
    assert.deepEqual(api.scaleWrites, [{ by: leader.identity, replicas: 18 }], 'the leader alone wrote, once')

    // The leader stops renewing (hung or killed without a goodbye); the follower keeps taking part every 2 s.
    const stoppedAt = now
    let takenOverAt: number | undefined
    while (takenOverAt === undefined && now < stoppedAt + 60_000) {
      now += LEASE.retryPeriodS * 1000
      await follower.elector.step()
      if (follower.elector.isLeader()) takenOverAt = now
      // Neither writes meanwhile: the old leader stops acting at its renew deadline, before anyone may take over.
      for (const g of [a, b]) g.autoscaler.tick(now)
      await Promise.all([a.autoscaler.settled(), b.autoscaler.settled()])
      if (takenOverAt === undefined) assert.equal(api.scaleWrites.length, 1, `at +${now - stoppedAt} ms`)
      if (now >= stoppedAt + LEASE.renewDeadlineS * 1000) assert.equal(leader.elector.isLeader(), false)
    }
    assert.ok(takenOverAt !== undefined, 'taken over')
    assert.ok(takenOverAt >= stoppedAt + LEASE.leaseDurationS * 1000, `not before expiry (+${takenOverAt - stoppedAt})`)
    assert.ok(takenOverAt <= stoppedAt + (LEASE.leaseDurationS + 2 * LEASE.retryPeriodS) * 1000, 'soon after it')
    assert.equal(api.lease()?.holderIdentity, follower.identity)
    assert.equal(api.lease()?.leaseTransitions, 1)
    // The new leader's first tick writes the count it has kept all along (both gateways' demand, still held by the
    // scale-down window), not one computed afresh from its own share.
    assert.deepEqual(api.scaleWrites.at(-1), { by: follower.identity, replicas: 18 })
    assert.ok(api.scaleWrites.every((w, i) => i === 0 || w.by === follower.identity))
    assert.deepEqual([...a.errors, ...b.errors], [])
  })

  test('a leader that stops releases the Lease, and another gateway takes it on its next round, not after expiry', async () => {
    const api = await fakeKubernetes(2)
    cleanup.push(api.close)
    const a = await gateway('gateway-a', api.url, () => [])
    const b = await gateway('gateway-b', api.url, () => [])
    await a.elector.step()
    await b.elector.step()
    assert.equal(a.elector.isLeader(), true)
    assert.equal(b.elector.isLeader(), false)
    now += 1000
    await a.elector.stop()
    assert.equal(a.elector.isLeader(), false)
    assert.equal(api.lease()?.holderIdentity, '')
    now += 1000
    await b.elector.step()
    assert.equal(b.elector.isLeader(), true)
    assert.equal(api.lease()?.leaseTransitions, 1)
    // The new leader starts from the Deployment's size: no scale-down in its first window.
    await b.peers.refresh()
    assert.equal(b.autoscaler.tick(now).desired, 2)
    await b.autoscaler.settled()
    assert.deepEqual(api.scaleWrites, [{ by: 'gateway-b', replicas: 2 }])
  })

  test('a PATCH that fails is tried again on the next tick, not only when the count changes', async () => {
    const failing = createServer((request, response) => {
      request.resume()
      response
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"kind":"Status","reason":"ServiceUnavailable"}')
    })
    failing.listen(0, '127.0.0.1')
    await once(failing, 'listening')
    cleanup.push(() => new Promise<void>((resolve) => failing.close(() => resolve())))
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-lease-'))
    await writeFile(join(dir, 'token'), 'x')
    const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`
    const actuator = await kubernetesActuator({
      apiUrl: url,
      tokenFile: join(dir, 'token'),
      caFile: undefined,
      namespace: 'ml',
      deployment: 'resnet',
    })
    const tries: number[] = []
    let backlog = 0
    const autoscaler = new Autoscaler(
      policy,
      {
        name: 'kubernetes',
        apply: (n) => {
          tries.push(n)
          return actuator.apply(n)
        },
      },
      () => ({ backlog, readyReplicas: 1 }),
      0,
      1,
    )
    backlog = 30
    const errors: unknown[] = []
    autoscaler.on('error', (error) => errors.push(error))
    autoscaler.tick(1000)
    await autoscaler.settled()
    autoscaler.tick(2000)
    await autoscaler.settled()
    assert.deepEqual(tries, [9, 9])
    assert.match(String(errors[0]), /HTTP 503/)
  })
})

test('gateway config: lease timings must let a leader stop before another may start; one way to name peers', () => {
  const load = (...argv: string[]) =>
    loadGatewayConfig({ env: {}, argv: ['--discovery', 'static', '--replicas', 'http://r:1', ...argv] })
  assert.equal(load('--kube-deployment', 'resnet').leaseName, 'resnet-autoscaler')
  assert.equal(load('--port', '9000').peerPort, 9000)
  assert.throws(
    () => load('--kube-lease-duration-s', '10', '--kube-lease-renew-deadline-s', '10'),
    /below KUBE_LEASE_DURATION_S/,
  )
  assert.throws(() => load('--kube-lease-retry-period-s', '10'), /below KUBE_LEASE_RENEW_DEADLINE_S/)
  assert.throws(() => load('--peers', 'http://g:8080', '--peer-dns-name', 'gateways'), /give one/)
  assert.throws(
    () => loadGatewayConfig({ env: {}, argv: ['--discovery', 'local', '--peers', 'http://g:8080'] }),
    /AUTOSCALER=local/,
  )
})
