import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { LeaseSpec } from '../src/autoscale/lease-rules.ts'

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/ml/leases'
const SCALE = '/apis/apps/v1/namespaces/ml/deployments/resnet/scale'

/**
 * The parts of the Kubernetes API the gateways call (namespace `ml`, Deployment `resnet`), with its concurrency control: a Lease is written only at the
 * resourceVersion last read (else 409 Conflict), created only once (else 409 AlreadyExists). Each gateway has its
 * own token, so every write says which gateway made it.
 */
export async function fakeKubernetes(initialReplicas: number) {
  let lease: { spec: LeaseSpec; resourceVersion: number } | undefined
  let replicas = initialReplicas
  const scaleWrites: { by: string; replicas: number }[] = []
  const leaseWrites: { by: string; method: string; status: number }[] = []
  // 'scaled' with the new count after every write of the scale, for a test that acts on it (a pod starting).
  const events = new EventEmitter<{ scaled: [replicas: number] }>()
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    let text = ''
    for await (const chunk of request) text += chunk
    const body = text ? JSON.parse(text) : undefined
    const by = request.headers.authorization?.replace('Bearer ', '') ?? 'anonymous'
    const send = (status: number, object: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(object))
    const leaseObject = () => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'resnet-autoscaler', namespace: 'ml', resourceVersion: String(lease!.resourceVersion) },
      spec: lease!.spec,
    })
    const url = request.url!
    if (url === `${LEASES}/resnet-autoscaler` && request.method === 'GET')
      return lease ? send(200, leaseObject()) : send(404, { kind: 'Status', reason: 'NotFound' })
    if (url === LEASES && request.method === 'POST') {
      const status = lease ? 409 : 201
      leaseWrites.push({ by, method: 'POST', status })
      if (lease) return send(409, { kind: 'Status', reason: 'AlreadyExists' })
      lease = { spec: body.spec, resourceVersion: 1 }
      return send(201, leaseObject())
    }
    if (url === `${LEASES}/resnet-autoscaler` && request.method === 'PUT') {
      const current = lease && body.metadata.resourceVersion === String(lease.resourceVersion)
      leaseWrites.push({ by, method: 'PUT', status: current ? 200 : 409 })
      if (!current) return send(409, { kind: 'Status', reason: 'Conflict' })
      lease = { spec: body.spec, resourceVersion: lease!.resourceVersion + 1 }
      return send(200, leaseObject())
    }
    if (url === SCALE && request.method === 'GET') return send(200, { kind: 'Scale', spec: { replicas } })
    if (url === SCALE && request.method === 'PATCH') {
      assert.equal(request.headers['content-type'], 'application/merge-patch+json')
      replicas = body.spec.replicas
      scaleWrites.push({ by, replicas })
      events.emit('scaled', replicas)
      return send(200, { kind: 'Scale', spec: { replicas } })
    }
    send(404, { kind: 'Status', reason: 'NotFound', message: url })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    scaleWrites,
    leaseWrites,
    events,
    lease: () => lease?.spec,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
