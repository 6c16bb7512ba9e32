import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { PassThrough } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { postImage } from '../../common/http/call.ts'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { rawPost } from '../../common/testing/raw-http.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import { type RunningReplica, startReplica } from '../../replica/src/replica.ts'
import { loadGatewayConfig } from '../src/config.ts'
import { type RunningGateway, startGateway } from '../src/gateway.ts'
import { freshDataDir, jobsAccepted, routable } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

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
  return { logger, next }
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
    test(`${target}: it gets its answer (interim 100 Continue lines first) and its access-log line`, async () => {
      const { url, log } =
        target === 'replica' ? { url: replica.url, log: replicaLog } : { url: gateway.url, log: gatewayLog }
      const { body, contentType } = await imageUpload(jpeg)
      const id = `half-close-${target}`
      const received = await sendThenHalfClose(
        url,
        rawPost('/predict', { 'content-type': contentType, 'x-request-id': id }, body),
      )
      // Interim answers (1xx) come first, each a status line and a blank line; then the answer.
      const final = received.replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n)*/, '')
      assert.match(received, /^HTTP\/1\.1 (100 Continue|200)/)
      assert.match(final, /^HTTP\/1\.1 200 /, received.slice(0, 200))
      const prediction = JSON.parse(final.slice(final.indexOf('\r\n\r\n') + 4))
      assert.equal(prediction.request_id, id)
      assert.match(prediction.prediction, /: \d+\.\d\d%$/)
      const entry = await log.next((e) => e.request_id === id && e.msg === 'request completed')
      assert.equal(entry.status, 200)
      assert.equal(entry.url, '/predict')
    })
  }

  test('replica, HTTP/1.0 (no interim answers to probe with): a half-close is taken as the client leaving, logged 499', async () => {
    const { body, contentType } = await imageUpload(jpeg)
    const request = rawPost('/predict', { 'content-type': contentType, 'x-request-id': 'http10' }, body)
    const http10 = Buffer.concat([Buffer.from('POST /predict HTTP/1.0'), request.subarray(request.indexOf('\r\n'))])
    assert.equal(await sendThenHalfClose(replica.url, http10), '')
    const entry = await replicaLog.next((e) => e.request_id === 'http10' && e.msg === 'request completed')
    assert.equal(entry.status, 499)
  })
})

describe('a client that closes its connection (not half) while its request waits', () => {
  test('gateway: the probe finds it gone, its job leaves the queue unsent, and its access-log line says 499', async () => {
    const stub = await StubReplica.start()
    const log = capturedLogger('gateway')
    const config = loadGatewayConfig({
      env: {},
      argv: [
        ...['--host', '127.0.0.1', '--port', '0', '--health-interval-ms', '50', '--data-dir', freshDataDir()],
        ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'none', '--replica-slots', '1'],
      ],
    })
    const gateway = await startGateway(config, log.logger as unknown as FastifyBaseLogger)
    try {
      await routable(gateway, 1)
      // The stub holds the only slot, so the second request waits in the gateway's queue.
      const release = stub.holdAnswers()
      const first = postImage(`${gateway.url}/predict`, jpeg, { 'x-timeout-ms': '60000' })
      await stub.received(1)
      const arrived = jobsAccepted(gateway, 1)
      const { body, contentType } = await imageUpload(jpeg)
      const { hostname, port } = new URL(gateway.url)
      const socket = connect({ host: hostname, port: Number(port) })
      await once(socket, 'connect')
      socket.write(
        rawPost('/predict', { 'content-type': contentType, 'x-request-id': 'leaves', 'x-timeout-ms': '60000' }, body),
      )
      const [job] = await arrived
      // Gone: the socket is closed whole (a FIN, as from a half-close), so the probe's bytes meet a reset.
      socket.destroy()
      const outcome = await job!.outcome
      assert.ok(outcome.kind === 'error' && outcome.code === 'client_closed', JSON.stringify(outcome))
      const entry = await log.next((e) => e.request_id === 'leaves' && e.msg === 'request completed')
      assert.equal(entry.status, 499)
      assert.equal(entry.code, 'client_closed')
      release()
      assert.equal((await first).status, 200)
      assert.equal(stub.requests.length, 1, 'the abandoned job never reached the replica')
    } finally {
      await gateway.shutdown(5000)
      await stub.close()
    }
  })
})
