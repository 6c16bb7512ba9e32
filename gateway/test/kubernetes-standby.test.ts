import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { kubernetesActuator } from '../src/autoscale/actuators/kubernetes.ts'
import { ROLE_LABEL } from '../src/autoscale/actuators/pod-roles.ts'

interface Pod {
  name: string
  role: 'serving' | 'standby'
  ready: boolean
  cpu: string
}

/**
 * A fake API server on 127.0.0.1 holding a Deployment and its pods: it answers the scale, the Deployment, the pod
 * list by label, label patches and resize patches (applying them to its pods), and records every request.
 */
async function fakeApi(pods: Pod[], { refuseResize = false } = {}) {
  const requests: { method: string; url: string; type?: string; auth?: string; body?: unknown }[] = []
  let replicas = pods.length
  const server = createServer(async (request, response) => {
    let text = ''
    for await (const chunk of request) text += chunk
    const body = text ? JSON.parse(text) : undefined
    requests.push({
      method: request.method!,
      url: request.url!,
      type: request.headers['content-type'],
      auth: request.headers.authorization,
      body,
    })
    const send = (status: number, value: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
    const url = new URL(request.url!, 'http://x')
    if (url.pathname === '/apis/apps/v1/namespaces/ml/deployments/resnet/scale') {
      if (request.method === 'PATCH') replicas = body.spec.replicas
      return send(200, { kind: 'Scale', spec: { replicas } })
    }
    if (url.pathname === '/apis/apps/v1/namespaces/ml/deployments/resnet')
      return send(200, {
        kind: 'Deployment',
        spec: { template: { spec: { containers: [{ name: 'replica', resources: { limits: { cpu: '600m' } } }] } } },
      })
    if (url.pathname === '/api/v1/namespaces/ml/pods' && request.method === 'GET') {
      assert.equal(url.searchParams.get('labelSelector'), 'app=resnet')
      return send(200, {
        kind: 'PodList',
        items: pods.map((p, i) => ({
          metadata: {
            name: p.name,
            creationTimestamp: new Date(Date.UTC(2026, 11, 7, 6, i)).toISOString(),
            labels: { app: 'resnet', [ROLE_LABEL]: p.role },
          },
          spec: { containers: [{ name: 'replica', resources: { requests: { cpu: p.cpu }, limits: { cpu: p.cpu } } }] },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False' }] },
        })),
      })
    }
    const match = /^\/api\/v1\/namespaces\/ml\/pods\/([^/]+)(\/resize)?$/.exec(url.pathname)
    const pod = match && pods.find((p) => p.name === match[1])
    if (pod && request.method === 'PATCH' && match[2] && refuseResize)
      return send(403, { kind: 'Status', reason: 'Forbidden', message: 'pods/resize is forbidden' })
    if (pod && request.method === 'PATCH') {
      if (match[2]) pod.cpu = body.spec.containers[0].resources.limits.cpu
      else pod.role = body.metadata.labels[ROLE_LABEL]
      return send(200, { kind: 'Pod' })
    }
    return send(404, { kind: 'Status', reason: 'NotFound' })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-kube-standby-'))
  await writeFile(join(dir, 'token'), 'secret-token\n')
  const actuator = await kubernetesActuator({
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokenFile: join(dir, 'token'),
    caFile: undefined,
    namespace: 'ml',
    deployment: 'resnet',
    roles: { selector: 'app=resnet', container: 'replica', standbyCpu: '50m' },
  })
  return {
    actuator,
    requests,
    replicas: () => replicas,
    close: async () => {
      server.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

test('kubernetes: the scale holds serving pods plus standbys; a promotion PATCHes the resize subresource, then the label', async () => {
  const pods: Pod[] = [
    { name: 'r-0', role: 'serving', ready: true, cpu: '600m' },
    { name: 'r-1', role: 'standby', ready: true, cpu: '50m' },
  ]
  const api = await fakeApi(pods)
  try {
    await api.actuator.apply(2, 1)
    assert.equal(api.replicas(), 3, 'the Deployment holds the standby to refill the pool')
    await api.actuator.reconcile!(2, 1)
    const writes = api.requests.filter((r) => r.method === 'PATCH' && !r.url.endsWith('/scale'))
    assert.deepEqual(
      writes.map((w) => [w.url, w.type, w.body]),
      [
        [
          '/api/v1/namespaces/ml/pods/r-1/resize',
          'application/strategic-merge-patch+json',
          {
            spec: {
              containers: [{ name: 'replica', resources: { requests: { cpu: '600m' }, limits: { cpu: '600m' } } }],
            },
          },
        ],
        [
          '/api/v1/namespaces/ml/pods/r-1',
          'application/merge-patch+json',
          { metadata: { labels: { [ROLE_LABEL]: 'serving' } } },
        ],
      ],
    )
    assert.ok(writes.every((w) => w.auth === 'Bearer secret-token'))
    assert.deepEqual(pods[1], { name: 'r-1', role: 'serving', ready: true, cpu: '600m' })
  } finally {
    await api.close()
  }
})

test('kubernetes: a new pod (born a standby at full CPU) is resized down to wait; scaling down demotes, then resizes', async () => {
  const pods: Pod[] = [
    { name: 'r-0', role: 'serving', ready: true, cpu: '600m' },
    { name: 'r-1', role: 'serving', ready: true, cpu: '600m' },
    { name: 'r-2', role: 'standby', ready: true, cpu: '600m' },
  ]
  const api = await fakeApi(pods)
  try {
    await api.actuator.reconcile!(2, 1)
    assert.deepEqual(pods[2], { name: 'r-2', role: 'standby', ready: true, cpu: '50m' })
    // Down to 1 serving and 2 standbys: the newer serving pod leaves the Service first, and is resized on the next pass.
    await api.actuator.apply(1, 2)
    assert.equal(api.replicas(), 3)
    await api.actuator.reconcile!(1, 2)
    assert.deepEqual(pods[1], { name: 'r-1', role: 'standby', ready: true, cpu: '600m' })
    await api.actuator.reconcile!(1, 2)
    assert.deepEqual(pods[1], { name: 'r-1', role: 'standby', ready: true, cpu: '50m' })
    // In line: a pass reads and writes nothing more.
    const before = api.requests.filter((r) => r.method === 'PATCH').length
    await api.actuator.reconcile!(1, 2)
    assert.equal(api.requests.filter((r) => r.method === 'PATCH').length, before)
  } finally {
    await api.close()
  }
})

test('kubernetes: a refused resize is an error naming the pod, and the pod is not labelled serving without it', async () => {
  const pods: Pod[] = [
    { name: 'r-0', role: 'serving', ready: true, cpu: '600m' },
    { name: 'r-1', role: 'standby', ready: true, cpu: '50m' },
  ]
  const api = await fakeApi(pods, { refuseResize: true })
  try {
    await assert.rejects(api.actuator.reconcile!(2, 0), /resizing pod r-1 to 600m CPU failed: HTTP 403/)
    assert.equal(pods[1]!.role, 'standby', 'never routed to at the standby CPU')
  } finally {
    await api.close()
  }
})
