import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { PassThrough } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { postImage } from '../../common/testing/http.ts'
import { rawPost } from '../../common/testing/raw-http.ts'
import { sampleImages } from '../../common/testing/sample-images.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import { type RunningReplica, startReplica } from '../../replica/src/replica.ts'
import { loadGatewayConfig } from '../src/config.ts'
import { type RunningGateway, startGateway } from '../src/gateway.ts'
import { freshDataDir, routable } from './helpers.ts'

const jpeg = sampleImages()[0]!.bytes()

/** A logger at info whose JSON lines a test can wait on. */
function capturedLogger(service: string) {
  const stream = new PassThrough()
  const entries: Record<string, unknown>[] = []
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] =
    []
  let pending = ''
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const text of lines) {
      const entry = JSON.parse(text) as Record<string, unknown>
      entries.push(entry)
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(entry)) waiter.resolve(entry)
        else waiters.push(waiter)
      }
    }
  })
  const logger = pino({ level: 'info', base: { service } }, stream)
  const next = (match: (e: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const seen = entries.find(match)
      if (seen) resolve(seen)
      else waiters.push({ match, resolve })
    })
  const seen = (match: (e: Record<string, unknown>) => boolean) => entries.some(match)
  return { logger, next, seen }
}

/** Sends a whole request, then half-closes (shuts its sending side); resolves with what came back before the close. */
async function sendThenHalfClose(url: string, bytes: Buffer): Promise<string> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true })
  await once(socket, 'connect')
  const received: Buffer[] = []
  socket.on('data', (data) => received.push(data))
  socket.end(bytes)
  await once(socket, 'close')
  return Buffer.concat(received).toString('utf8')
}

describe('a client that half-closes after sending its request', () => {
  let replica: RunningReplica
  let gateway: RunningGateway
  const replicaLog = capturedLogger('replica')
  const gatewayLog = capturedLogger('gateway')

  before(async () => {
    const replicaConfig = loadReplicaConfig({
      env: {},
      argv: ['--host', '127.0.0.1', '--port', '0', '--replica-id', 'half-close', '--models-dir', 'none'],
    })
    replica = await startReplica(replicaConfig, replicaLog.logger)
    const gatewayConfig = loadGatewayConfig({
      env: {},
      argv: [
        ...['--host', '127.0.0.1', '--port', '0', '--health-interval-ms', '50', '--data-dir', freshDataDir()],
        ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'],
      ],
    })
    gateway = await startGateway(gatewayConfig, gatewayLog.logger as unknown as FastifyBaseLogger)
    await routable(gateway, 1)
  })
  after(async () => {
    await gateway.shutdown(5000)
    await replica.shutdown(5000)
  })

  for (const target of ['replica', 'gateway'] as const) {
    test(`${target}: its request gets an access-log line (499 client_closed when no answer was sent)`, async () => {
      const { url, log } =
        target === 'replica' ? { url: replica.url, log: replicaLog } : { url: gateway.url, log: gatewayLog }
      const { body, contentType } = await imageUpload(jpeg)
      const id = `half-close-${target}`
      const answer = await sendThenHalfClose(
        url,
        rawPost('/predict', { 'content-type': contentType, 'x-request-id': id }, body),
      )
      // A request after it, answered and logged: by then the half-closed one's connection is long gone, so its line
      // (written when the connection closed) must be there already.
      const after = await postImage(`${url}/predict`, jpeg, { 'x-request-id': `${id}-after` })
      assert.equal(after.status, 200)
      await log.next((e) => e.request_id === `${id}-after` && e.msg === 'request completed')
      const match = (e: Record<string, unknown>) => e.request_id === id && e.msg === 'request completed'
      assert.ok(log.seen(match), 'an access-log line for the half-closed request')
      const entry = await log.next(match)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 499)
      assert.equal(entry.status, status, `the line has the status the client got (${answer.slice(0, 40) || 'none'})`)
      assert.equal(entry.url, '/predict')
      if (status === 499) assert.equal(entry.code, 'client_closed')
    })
  }
})
