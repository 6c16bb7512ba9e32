import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { call, errorCode } from '../../common/http/call.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { type Actuator, Autoscaler } from '../src/autoscale/autoscaler.ts'
import { routable, startTestGateway, testAutoscalerOptions } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const options = testAutoscalerOptions

function recordingActuator() {
  const applied: number[] = []
  const actuator: Actuator = {
    name: 'local',
    apply: async (replicas) => {
      applied.push(replicas)
    },
  }
  return { applied, actuator }
}

describe('Autoscaler (no sockets: arrivals and time are given)', () => {
  test('scales up within one tick of a burst, and down only after the stabilisation window', async () => {
    const { applied, actuator } = recordingActuator()
    let ready = 1
    const autoscaler = new Autoscaler(options, actuator, () => ({ backlog: 0, readyReplicas: ready }), 0, 1)
    // 10 s at 5 req/s × 0.1 s = 0.5 busy slots → 1 replica.
    for (let t = 0; t < 10_000; t += 200) autoscaler.recordArrival(t)
    assert.equal(autoscaler.tick(10_000).desired, 1)
    // A burst: 30 req/s for 2 s → short window 60 arrivals / 6 s = 10 req/s... and the panic threshold.
    for (let t = 10_000; t < 12_000; t += 1000 / 30) autoscaler.recordArrival(t)
    const burst = autoscaler.tick(12_000)
    assert.ok(burst.desired >= 2, `desired ${burst.desired}`)
    ready = burst.desired
    // Quiet afterwards: the recommendation drops, but desired holds for the 30 s window.
    assert.equal(autoscaler.tick(30_000).desired, burst.desired)
    assert.equal(autoscaler.tick(70_000).desired, 1)
    await autoscaler.settled()
    assert.deepEqual(applied, [burst.desired, 1])
  })

  test('the actuator makes one change at a time, and a change still waiting is replaced by a newer one', {
    timeout: 10_000,
  }, async () => {
    const applied: number[] = []
    const firstStarted = Promise.withResolvers<void>()
    const firstDone = Promise.withResolvers<void>()
    const actuator: Actuator = {
      name: 'local',
      apply: (replicas) => {
        applied.push(replicas)
        if (applied.length > 1) return Promise.resolve()
        firstStarted.resolve()
        return firstDone.promise
      },
    }
    let backlog = 0
    const autoscaler = new Autoscaler(options, actuator, () => ({ backlog, readyReplicas: 1 }), 0, 1)
    backlog = 7
    const first = autoscaler.tick(1000).desired
    await firstStarted.promise
    for (const next of [14, 21, 28]) {
      backlog = next
      autoscaler.tick(1000)
    }
    const last = autoscaler.status.desired
    assert.notEqual(first, last)
    assert.deepEqual(applied, [first], 'the first change is still under way: nothing else started')
    firstDone.resolve()
    await autoscaler.settled()
    assert.deepEqual(applied, [first, last], 'only the newest of the waiting changes ran')
  })

  test('a backlog asks for replicas even before arrivals are measured', () => {
    const autoscaler = new Autoscaler(options, undefined, () => ({ backlog: 30, readyReplicas: 1 }), 0, 1)
    // 30 queued to be drained in 0.5 s at 0.1 s each = 6 busy slots / 0.7 → 9.
    assert.equal(autoscaler.tick(1000).desired, 9)
  })

  test('the start-up it plans with is the one it measures, from the tick it wanted more to the tick they were ready', () => {
    let ready = 1
    let backlog = 0
    const autoscaler = new Autoscaler(options, undefined, () => ({ backlog, readyReplicas: ready }), 0, 1)
    assert.equal(autoscaler.tick(1000).inputs.startupS, 0, 'the configured one until something is measured')
    backlog = 30
    assert.ok(autoscaler.tick(2000).desired > 1)
    backlog = 0
    ready = autoscaler.status.desired
    assert.equal(autoscaler.tick(14_000).inputs.startupS, 0, 'measured on this tick, used from the next')
    assert.equal(autoscaler.tick(15_000).inputs.startupS, 12)
  })

  test('a rise beyond noise is a trend the short window is forecast along; the noise margin trims a burst', () => {
    const rising = new Autoscaler(
      { ...options, trendGain: 1, startupS: 10 },
      undefined,
      () => ({ backlog: 0, readyReplicas: 1 }),
      0,
      1,
    )
    // 5 s at 2 req/s, then 5 s at 20 req/s: 10 then 100 in the window's halves.
    for (let t = 0; t < 5000; t += 500) rising.recordArrival(t)
    for (let t = 5000; t < 10_000; t += 50) rising.recordArrival(t)
    const status = rising.tick(10_000)
    assert.ok(status.inputs.arrivalTrend! > 1, `trend ${status.inputs.arrivalTrend}`)
    const flat = new Autoscaler({ ...options, startupS: 10 }, undefined, () => ({ backlog: 0, readyReplicas: 1 }), 0, 1)
    for (let t = 0; t < 5000; t += 500) flat.recordArrival(t)
    for (let t = 5000; t < 10_000; t += 50) flat.recordArrival(t)
    assert.ok(status.decision.shortWindow > flat.tick(10_000).decision.shortWindow, 'gain 0: no forecast')

    // The same arrivals with and without a margin of 2 σ: n counted in the 6 s window, (n − 2√n) / 6 vouched for.
    const feed = (autoscaler: Autoscaler) => {
      for (let t = 0; t < 10_000; t += 50) autoscaler.recordArrival(t)
      return autoscaler.tick(10_000).inputs.arrivalRateShort
    }
    const load = () => ({ backlog: 0, readyReplicas: 1 })
    const n = feed(new Autoscaler(options, undefined, load, 0, 1)) * 6
    const trimmed = feed(new Autoscaler({ ...options, burstNoiseZ: 2 }, undefined, load, 0, 1))
    assert.ok(n > 100 && Math.abs(trimmed - (n - 2 * Math.sqrt(n)) / 6) < 1e-9, `${n} counted, ${trimmed} req/s`)
  })

  test('service time and its variability follow the measured upstream latency', () => {
    const autoscaler = new Autoscaler(options, undefined, () => ({ backlog: 0, readyReplicas: 1 }), 0, 1)
    assert.ok(Math.abs(autoscaler.tick(500).inputs.serviceTimeCv2! - 1) < 1e-9, 'exponential until measured')
    for (let i = 0; i < 200; i++) autoscaler.recordServiceTime(30)
    const constant = autoscaler.tick(1000).inputs
    assert.ok(Math.abs(constant.serviceTimeS - 0.03) < 0.002)
    assert.ok(constant.serviceTimeCv2! < 0.01, `cv² ${constant.serviceTimeCv2}`)
    // 10 ms and 50 ms alternating: mean 30 ms, variance 400 ms², cs² = 400 / 900.
    for (let i = 0; i < 400; i++) autoscaler.recordServiceTime(i % 2 === 0 ? 10 : 50)
    const varied = autoscaler.tick(2000).inputs
    assert.ok(Math.abs(varied.serviceTimeCv2! - 4 / 9) < 0.05, `cv² ${varied.serviceTimeCv2}`)
  })

  test('scale-down holds for the measured start-ups when they outlast the stabilisation', () => {
    const hold = { ...options, scaleDownStabilizationS: 10, scaleDownStartups: 3 }
    let ready = 1
    let backlog = 0
    const autoscaler = new Autoscaler(hold, undefined, () => ({ backlog, readyReplicas: ready }), 0, 1)
    backlog = 30
    const wanted = autoscaler.tick(1000).desired
    assert.ok(wanted > 1)
    backlog = 0
    ready = wanted
    // Ready 20 s after the ask: the start-up measured is 20 s, so scale-down waits 3 × 20 = 60 s, not 10.
    assert.equal(autoscaler.tick(21_000).inputs.startupS, 0)
    assert.equal(autoscaler.tick(22_000).inputs.startupS, 20)
    assert.equal(autoscaler.tick(40_000).desired, wanted, 'past the 10 s stabilisation, within 3 start-ups')
    assert.equal(autoscaler.tick(60_000).desired, wanted)
    assert.equal(autoscaler.tick(61_001).desired, 1)
  })
})

describe('the signal and the kubernetes actuator, through a gateway', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  test('GET /autoscale and gateway_desired_replicas; the Deployment scale is PATCHed with the service-account token', async () => {
    const patches: { path: string; auth: string | undefined; type: string | undefined; body: unknown }[] = []
    let lease: { metadata: { resourceVersion: string }; spec: unknown } | undefined
    const api = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => (body += chunk))
      request.on('end', () => {
        const json = (status: number, value: unknown) =>
          response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
        // The Lease this gateway must hold before it writes (the only gateway: it wins at once).
        if (request.url!.startsWith('/apis/coordination.k8s.io/v1/namespaces/ml/leases')) {
          if (request.method === 'GET') return lease ? json(200, lease) : json(404, { kind: 'Status' })
          const version = String(Number(lease?.metadata.resourceVersion ?? 0) + 1)
          lease = { ...JSON.parse(body), metadata: { resourceVersion: version } }
          return json(request.method === 'POST' ? 201 : 200, lease)
        }
        // The size it starts from.
        if (request.method === 'GET') return json(200, { kind: 'Scale', spec: { replicas: 1 } })
        patches.push({
          path: request.url!,
          auth: request.headers.authorization,
          type: request.headers['content-type'],
          body: JSON.parse(body),
        })
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Scale"}')
        api.emit('patched', patches.at(-1))
      })
    })
    api.listen(0, '127.0.0.1')
    await once(api, 'listening')
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-kube-'))
    await writeFile(join(dir, 'token'), 'secret-token\n')
    const stub = await StubReplica.start({ delayMs: 100 })
    cleanup.push(
      () => stub.close(),
      async () => void api.close(),
    )
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'kubernetes'],
      ...[
        '--kube-api-url',
        `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        '--kube-token-file',
        join(dir, 'token'),
      ],
      ...['--kube-namespace', 'ml', '--kube-deployment', 'resnet', '--autoscale-interval-ms', '50'],
    ])
    cleanup.push(() => gateway.shutdown(1000))
    await routable(gateway, 1)
    // 40 requests at once onto one replica serving 100 ms each: a queue that must be drained within the SLO. The
    // clients say they will wait (4 s of queue), so admission accepts them all. Waited for: the PATCH that scales up
    // (a gateway that wins the Lease before the burst has reached it first writes the 1 it wants then).
    const scaledUp = new Promise<void>((resolve) => {
      const onPatch = (patch: (typeof patches)[number]) => {
        if ((patch.body as { spec: { replicas: number } }).spec.replicas <= 1) return
        api.off('patched', onPatch)
        resolve()
      }
      api.on('patched', onPatch)
    })
    const answers = Array.from({ length: 40 }, () =>
      call(`${gateway.url}/predict`, {
        body: Buffer.alloc(100, 1),
        headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': '20000' },
      }),
    )
    await scaledUp
    const status = (await call(`${gateway.url}/autoscale`)).body
    assert.ok(status.desired > 1, JSON.stringify(status))
    assert.equal(status.actuator, 'kubernetes')
    assert.equal(status.leader, true)
    assert.equal(status.peers, 0)
    assert.deepEqual(status.local_inputs, status.inputs, 'alone, the pool is its own share')
    assert.equal(typeof status.inputs.arrivalRateShort, 'number')
    const text = (await call(`${gateway.url}/metrics`)).body as string
    assert.ok(metric(text, 'gateway_desired_replicas') > 1)
    assert.equal(metric(text, 'gateway_autoscaler_leader'), 1, 'alone with the actuator, it leads')
    const scaleUp = patches.find((p) => (p.body as { spec: { replicas: number } }).spec.replicas > 1)!
    assert.equal(scaleUp.path, '/apis/apps/v1/namespaces/ml/deployments/resnet/scale')
    assert.equal(scaleUp.auth, 'Bearer secret-token')
    assert.equal(scaleUp.type, 'application/merge-patch+json')
    assert.deepEqual(scaleUp.body, {
      spec: { replicas: (scaleUp.body as { spec: { replicas: number } }).spec.replicas },
    })
    const statuses = (await Promise.all(answers)).map((a) => (a.status === 200 ? 200 : `${a.status} ${errorCode(a)}`))
    assert.ok(
      statuses.every((s) => s === 200),
      JSON.stringify(statuses),
    )
    assert.equal(
      (await call(`${gateway.url}/replicas`)).body.desired,
      (await call(`${gateway.url}/autoscale`)).body.desired,
    )
  })
})
