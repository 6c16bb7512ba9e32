import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import type { RunningGateway } from '../src/gateway.ts'
import { stubPoolFixture } from './helpers.ts'

interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * An upload over a bare socket that sends its headers only, and its body only when told (`send`): what shows whether
 * the gateway answers before a body it will not take has been sent. `answer` resolves with the first full answer.
 */
function upload(gateway: RunningGateway, headers: Record<string, string | number>) {
  const { port } = new URL(gateway.url)
  const socket: Socket = connect(Number(port), '127.0.0.1')
  const head = Object.entries({ host: 'gateway', 'content-type': 'image/jpeg', ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  socket.write(`POST /predict HTTP/1.1\r\n${head}\r\n`)
  let received = Buffer.alloc(0)
  const answer = new Promise<Answer>((resolve, reject) => {
    const tryParse = () => {
      const text = received.toString('utf8')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return undefined
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
      const parsed: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const body = text.slice(end + 4)
      if (Buffer.byteLength(body) < Number(parsed['content-length'] ?? 0)) return undefined
      return { status: Number(statusLine!.split(' ')[1]), headers: parsed, body }
    }
    socket.on('data', (data) => {
      received = Buffer.concat([received, data])
      const parsed = tryParse()
      if (parsed) resolve(parsed)
    })
    socket.on('close', () => reject(new Error('closed without an answer')))
    socket.on('error', () => {})
  })
  let answered = false
  void answer.then(
    () => {
      answered = true
    },
    () => {},
  )
  return {
    answer,
    get answered() {
      return answered
    },
    /** Whether the gateway closed its side (it will read nothing more of this body). */
    closed: new Promise<void>((resolve) => socket.once('end', resolve).once('close', resolve)),
    send: (bytes: Buffer | string) => socket.write(bytes),
    destroy: () => socket.destroy(),
  }
}

/** Resolves once `count` of these have been answered. */
async function answersFrom(uploads: ReturnType<typeof upload>[], count: number): Promise<void> {
  let done = 0
  const { promise, resolve } = Promise.withResolvers<void>()
  for (const u of uploads) {
    void u.answer.then(
      () => {
        if (++done === count) resolve()
      },
      () => {},
    )
  }
  if (count === 0) resolve()
  return promise
}

describe('gateway: an upload burst is refused before its bodies are read', () => {
  const fixture = stubPoolFixture()
  after(() => fixture.closeAll())
  const BODY = 40_000

  test('bodies arriving at once are held to QUEUE_MAX_BYTES: the rest are answered 503 from their Content-Length, their bodies unsent', async () => {
    const stub = (await fixture.stubs({}))[0]!
    const gateway = await fixture.gatewayFor([stub], ['--queue-max-bytes', '100000', '--max-receiving-bytes', '100000'])
    const limits = gateway.queue.limits
    // The accounting is checked at every change, not only at the end.
    const checks: string[] = []
    for (const method of ['reserve', 'grow', 'release', 'push'] as const) {
      const original = gateway.queue[method].bind(gateway.queue) as (...args: unknown[]) => unknown
      ;(gateway.queue as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const result = original(...args)
        const { bytes, reserved } = gateway.queue
        if (bytes + reserved > limits.maxBytes || reserved > limits.maxReceivingBytes) {
          checks.push(`${method}: ${bytes} queued + ${reserved} receiving`)
        }
        return result
      }
    }
    const uploads = Array.from({ length: 20 }, () => upload(gateway, { 'content-length': BODY }))
    // 2 × 40 kB fit in 100 kB; each of the other 18 is refused as it arrives, with no byte of its body sent.
    await answersFrom(uploads, 18)
    const refused = uploads.filter((u) => u.answered)
    for (const u of refused) {
      const answer = await u.answer
      assert.equal(answer.status, 503)
      assert.equal(JSON.parse(answer.body).code, 'queue_full')
      assert.match(answer.headers['retry-after'] ?? '', /^[1-9]\d*$/)
      assert.equal(answer.headers.connection, 'close', 'the unread body is not read: the connection closes')
      await u.closed
    }
    assert.equal(gateway.queue.reserved, 2 * BODY, 'the two admitted bodies hold their bytes while they arrive')
    const admitted = uploads.filter((u) => !u.answered)
    assert.equal(admitted.length, 2)
    for (const u of admitted) u.send(Buffer.alloc(BODY, 1))
    for (const u of admitted) assert.equal((await u.answer).status, 200)
    assert.deepEqual(checks, [])
    assert.equal(gateway.queue.reserved, 0)
    assert.equal(stub.requests.length, 2, 'only admitted bodies reached a replica')
    for (const u of uploads) u.destroy()
  })

  test('a body larger than the gateway could ever take is 413 from its Content-Length alone', async () => {
    const stub = (await fixture.stubs({}))[0]!
    const gateway = await fixture.gatewayFor([stub], ['--queue-max-bytes', '100000', '--max-receiving-bytes', '50000'])
    // Within MAX_BODY_BYTES (10 MiB) but beyond what may be received at once: no retry could help.
    const tooBig = upload(gateway, { 'content-length': 60_000 })
    const answer = await tooBig.answer
    assert.equal(answer.status, 413)
    assert.equal(JSON.parse(answer.body).code, 'payload_too_large')
    assert.equal(answer.headers.connection, 'close')
    // Far beyond everything: the same, at once.
    const huge = upload(gateway, { 'content-length': 1024 ** 4 })
    assert.equal((await huge.answer).status, 413)
    assert.equal(gateway.queue.reserved, 0)
    for (const u of [tooBig, huge]) u.destroy()
  })

  test('a chunked body is counted as it arrives: past what may be received at once it is refused mid-body, connection closed', async () => {
    const stub = (await fixture.stubs({}))[0]!
    const gateway = await fixture.gatewayFor(
      [stub],
      ['--queue-max-bytes', '1000000', '--max-receiving-bytes', '100000'],
    )
    // Another upload holds 60 kB of the 100 kB while its body is on its way.
    const holder = upload(gateway, { 'content-length': 60_000 })
    while (gateway.queue.reserved < 60_000) await new Promise((resolve) => setImmediate(resolve))
    const chunk = Buffer.alloc(10_000, 2)
    const chunkOf = (bytes: Buffer) =>
      Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
    const chunked = upload(gateway, { 'transfer-encoding': 'chunked' })
    // 200 kB sent and never finished (no last chunk): only a refusal mid-body can answer it.
    for (let i = 0; i < 20; i++) chunked.send(chunkOf(chunk))
    const answer = await chunked.answer
    assert.equal(answer.status, 503)
    assert.equal(JSON.parse(answer.body).code, 'queue_full')
    assert.equal(answer.headers.connection, 'close')
    await chunked.closed
    assert.equal(gateway.queue.reserved, 60_000, 'its reservation was given back; the other one holds')
    holder.send(Buffer.alloc(60_000, 1))
    assert.equal((await holder.answer).status, 200)
    // Past what the gateway could ever take at once: 413, whatever else is arriving.
    const tooBig = upload(gateway, { 'transfer-encoding': 'chunked' })
    for (let i = 0; i < 20; i++) tooBig.send(chunkOf(chunk))
    assert.equal((await tooBig.answer).status, 413)
    // A complete chunked body within the bounds is served.
    const small = upload(gateway, { 'transfer-encoding': 'chunked' })
    small.send(Buffer.concat([chunkOf(chunk), Buffer.from('0\r\n\r\n')]))
    assert.equal((await small.answer).status, 200)
    assert.equal(stub.requests.length, 2)
    assert.equal(gateway.queue.reserved, 0)
    for (const u of [holder, chunked, tooBig, small]) u.destroy()
  })

  test('MAX_CONNECTIONS: a connection beyond it is closed as it opens; the held ones are served', async () => {
    const stub = (await fixture.stubs({}))[0]!
    const gateway = await fixture.gatewayFor([stub], ['--max-connections', '2'])
    const { port } = new URL(gateway.url)
    const open = async () => {
      const socket = connect(Number(port), '127.0.0.1')
      socket.on('error', () => {})
      await once(socket, 'connect')
      return socket
    }
    // Opened one after the other, so the server accepts them in this order.
    const held = [await open(), await open()]
    const third = await open()
    await once(third, 'close')
    for (const socket of held) {
      socket.write('GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n')
      const [data] = (await once(socket, 'data')) as [Buffer]
      assert.match(data.toString('utf8'), /^HTTP\/1\.1 200 /)
      socket.destroy()
    }
  })
})
