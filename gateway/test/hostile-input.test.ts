import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { request } from 'undici'
import { errorCode, postImage } from '../../common/http/call.ts'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { type HostileCase, hostileCorpus } from '../../common/testing/hostile-inputs.ts'
import { rawRequest } from '../../common/testing/raw-http.ts'
import type { RunningReplica } from '../../replica/src/replica.ts'
import { startTestReplica } from '../../replica/test/helpers.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { startGatewayOver } from './helpers.ts'

const BODY_TIMEOUT_MS = 1500
const images = sampleImages()
const jpeg = images[0]!.bytes()

/** Sends one hostile request; any answer must be a 4xx JSON error with its code, never a crash, a 5xx or silence. */
async function send(url: string, hostile: Pick<HostileCase, 'body' | 'headers'>) {
  const response = await request(url, { method: 'POST', body: hostile.body, headers: hostile.headers })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(text) }
}

describe('hostile input: every case a clear 4xx JSON error, the service stays up, the next good request succeeds', () => {
  let replica: RunningReplica
  let gateway: RunningGateway
  let corpus: HostileCase[]
  const targets = () => [
    { name: 'replica', url: replica.url },
    { name: 'gateway', url: gateway.url },
  ]

  before(async () => {
    corpus = await hostileCorpus(jpeg)
    replica = await startTestReplica(['--body-timeout-ms', String(BODY_TIMEOUT_MS), '--models-dir', 'none'])
    gateway = await startGatewayOver([replica.url], ['--body-timeout-ms', String(BODY_TIMEOUT_MS)])
  })
  after(async () => {
    await gateway.shutdown(5000)
    await replica.shutdown(5000)
  })

  test('the corpus: broken files, bombs, bad multipart, bad headers', async () => {
    for (const { name, url } of targets()) {
      for (const hostile of corpus) {
        const answer = await send(`${url}/predict`, hostile)
        assert.equal(answer.status, hostile.expect.status, `${name}, ${hostile.name}: ${JSON.stringify(answer.body)}`)
        assert.equal(errorCode(answer), hostile.expect.code, `${name}, ${hostile.name}`)
        assert.doesNotMatch(JSON.stringify(answer.body), /\bat .+\.ts:\d+/, 'no stack trace')
      }
      const good = await postImage(`${url}/predict`, jpeg)
      assert.equal(good.status, 200, `${name} still serves`)
    }
  })

  test('a 50 MB body is refused with 413 before it is read', async () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 0xff)
    for (const { name, url } of targets()) {
      const answer = await send(`${url}/predict`, { body: huge, headers: { 'content-type': 'image/jpeg' } })
      assert.equal(answer.status, 413, name)
      assert.equal(errorCode(answer), 'payload_too_large')
      assert.equal((await postImage(`${url}/predict`, jpeg)).status, 200)
    }
  })

  test('slow loris: a body trickled byte by byte is cut at the body timeout with a JSON 408', async () => {
    const { body, contentType } = await imageUpload(jpeg.subarray(0, 2000))
    for (const { name, url } of targets()) {
      const head = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`
      const started = performance.now()
      // One byte every 100 ms would take minutes to finish; the body timeout ends it.
      const trickle = [head, ...[...body.subarray(0, 200)].map((byte) => Buffer.from([byte]))]
      const answer = await rawRequest(url, trickle, 100)
      const took = performance.now() - started
      assert.equal(answer.status, 408, `${name}: ${answer.body}`)
      assert.equal(JSON.parse(answer.body).code, 'body_timeout')
      assert.ok(took < BODY_TIMEOUT_MS + 2000, `${name} cut it after ${Math.round(took)} ms`)
      assert.equal((await postImage(`${url}/predict`, jpeg)).status, 200)
    }
  })

  test('a request id with control characters never comes back (or reaches the logs) raw', async () => {
    for (const { name, url } of targets()) {
      const forged = 'abc\r\nX-Injected: yes'
      const { body, contentType } = await imageUpload(jpeg)
      // A CR/LF inside a header value is a protocol error: Node refuses it before any handler, as JSON.
      const smuggled = await rawRequest(url, [
        `POST /predict HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\u0001def\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
      ])
      assert.equal(smuggled.status, 400, `${name}: ${smuggled.body}`)
      assert.equal(JSON.parse(smuggled.body).code, 'bad_request')
      // A tab and spaces are legal in HTTP but not in a log field: the id is replaced by a fresh one.
      const answer = await postImage(`${url}/predict`, jpeg, { 'x-request-id': 'id\twith spaces "quoted"' })
      assert.equal(answer.status, 200)
      assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/)
      assert.equal(answer.body.request_id, answer.headers['x-request-id'])
      assert.ok(!forged.includes(String(answer.headers['x-request-id'])))
    }
  })

  test('property: real JPEGs with random bytes changed or cut are answered 200 or 4xx, never 5xx', async () => {
    const sources = images.filter((_, i) => i % 100 === 0).map((image) => image.bytes())
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: sources.length - 1 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 20,
        }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        async (which, flips, cut) => {
          const mutated = Buffer.from(sources[which]!)
          for (const [at, value] of flips) mutated[Math.floor(at * (mutated.length - 1))] = value
          const data = cut === undefined ? mutated : mutated.subarray(0, Math.floor(cut * mutated.length))
          const answer = await postImage(`${gateway.url}/predict`, data)
          assert.ok(answer.status === 200 || (answer.status >= 400 && answer.status < 500), `status ${answer.status}`)
          if (answer.status !== 200) errorCode(answer)
        },
      ),
      { numRuns: 40, seed: 42 },
    )
  })
})
