import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import sharp from 'sharp'
import { call, errorCode, type JsonResponse, postImage } from '../../common/http/call.ts'
import { type MultipartPart, multipartBody } from '../../common/http/multipart-body.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import type { RunningReplica } from '../src/replica.ts'
import { startTestReplica } from './helpers.ts'

const images = someSampleImages(8)
const tench = images[0]!.bytes()

describe('replica over HTTP', () => {
  let replica: RunningReplica
  let predict: string

  before(async () => {
    replica = await startTestReplica()
    predict = `${replica.url}/predict`
  })
  after(() => replica.shutdown(5000))

  test('POST /predict (multipart "file") answers the seed format plus top-5, model, timings and load headers', async () => {
    const response = await postImage(predict, tench, { 'x-request-id': 'my-id-1' })
    assert.equal(response.status, 200)
    const body = response.body
    assert.match(body.prediction, /^.+: \d{1,3}\.\d{2}%$/)
    assert.equal(body.prediction, `${body.label}: ${(body.confidence * 100).toFixed(2)}%`)
    assert.equal(body.top5.length, 5)
    assert.deepEqual(body.top5[0], { label: body.label, class_index: body.class_index, confidence: body.confidence })
    for (let i = 1; i < 5; i++) assert.ok(body.top5[i - 1].confidence >= body.top5[i].confidence)
    assert.equal(body.model.name, 'resnet18')
    assert.equal(typeof body.model.pretrained, 'boolean')
    assert.equal(typeof body.warning === 'string', body.model.pretrained === false)
    for (const key of ['queue', 'preprocess', 'inference', 'total']) assert.ok(body.timing_ms[key] >= 0, key)
    assert.ok(body.timing_ms.total >= body.timing_ms.preprocess + body.timing_ms.inference)
    assert.equal(body.request_id, 'my-id-1')
    assert.equal(response.headers['x-request-id'], 'my-id-1')
    assert.match(String(response.headers['x-replica-inflight']), /^\d+$/)
    assert.match(String(response.headers['x-replica-queue']), /^\d+$/)
  })

  test('field "image" and a raw image/jpeg body give the same answer as field "file"', async () => {
    const viaFile = await postImage(predict, tench)
    const viaImage = await postImage(predict, tench, {}, 'image')
    const raw = await call(predict, { body: tench, headers: { 'content-type': 'image/jpeg' } })
    assert.deepEqual(viaImage.body.top5, viaFile.body.top5)
    assert.deepEqual(raw.body.top5, viaFile.body.top5)
  })

  test('concurrent requests are batched and every answer belongs to its own image', async () => {
    const sequential: JsonResponse['body'][] = []
    for (const image of images) sequential.push((await postImage(predict, image.bytes())).body)
    // Distinct images must give distinct scores, or a mix-up could go unseen.
    assert.equal(new Set(sequential.map((b) => b.confidence)).size, images.length)
    const concurrent = await Promise.all(images.map((image) => postImage(predict, image.bytes())))
    assert.ok(
      concurrent.some((r) => r.body.batch_size > 1),
      `expected some batching, got sizes ${concurrent.map((r) => r.body.batch_size)}`,
    )
    for (const [i, response] of concurrent.entries()) {
      assert.equal(response.status, 200)
      const expected = sequential[i]
      assert.deepEqual(
        response.body.top5.map((s: { class_index: number }) => s.class_index),
        expected.top5.map((s: { class_index: number }) => s.class_index),
        images[i]!.name,
      )
      assert.ok(Math.abs(response.body.confidence - expected.confidence) < 1e-5, images[i]!.name)
    }
  })

  test('an unsafe X-Request-Id is replaced, not echoed', async () => {
    const response = await postImage(predict, tench, { 'x-request-id': 'a b' })
    assert.match(response.body.request_id, /^[0-9a-f-]{36}$/)
  })

  test('X-Timeout-Ms: 0 is answered 504 without inference', async () => {
    const response = await postImage(predict, tench, { 'x-timeout-ms': '0' })
    assert.equal(response.status, 504)
    assert.equal(errorCode(response), 'deadline_exceeded')
  })

  test('GET /models lists resnet18 (default) and darknet-tiny; ?model= and X-Model select, an unknown name is a 404', async () => {
    const models = await call(`${replica.url}/models`)
    assert.equal(models.body.default, 'resnet18')
    const darknet = models.body.models.find((m: { name: string }) => m.name === 'darknet-tiny')
    assert.ok(darknet, 'darknet-tiny is found in ../shared/models')
    assert.equal(darknet.pretrained, true)
    assert.equal(darknet.source, 'converted')
    const ready = await call(`${replica.url}/readyz`)
    assert.deepEqual(
      ready.body.models.map((m: { name: string }) => m.name),
      ['resnet18', 'darknet-tiny'],
    )
    // n01440764_tench is one darknet-tiny gets right.
    const byQuery = await postImage(`${predict}?model=darknet-tiny`, tench)
    assert.equal(byQuery.body.model.name, 'darknet-tiny')
    assert.equal(byQuery.body.label, 'tench')
    assert.equal(byQuery.body.warning, undefined)
    const byHeader = await postImage(predict, tench, { 'x-model': 'darknet-tiny' })
    assert.equal(byHeader.body.label, 'tench')
    assert.equal((await postImage(predict, tench)).body.model.name, 'resnet18')
    const unknown = await postImage(`${predict}?model=nope`, tench)
    assert.equal(unknown.status, 404)
    assert.equal(errorCode(unknown), 'unknown_model')
  })

  test('GET /healthz names the model and flags untrained weights', async () => {
    const response = await call(`${replica.url}/healthz`)
    assert.equal(response.status, 200)
    assert.equal(response.body.status, 'ok')
    assert.equal(response.body.model.name, 'resnet18')
    assert.match(response.body.model.sha256, /^[0-9a-f]{64}$/)
    assert.equal(typeof response.body.warning === 'string', response.body.model.pretrained === false)
  })

  test('GET /metrics counts requests and exposes timing and batch histograms and the model', async () => {
    const before = await call(`${replica.url}/metrics`)
    const count = (text: string) =>
      Number(/^replica_requests_total\{status="200",code="",model="resnet18"\} (\d+)/m.exec(text)?.[1] ?? 0)
    await postImage(predict, tench)
    await postImage(predict, tench)
    const text = (await call(`${replica.url}/metrics`)).body as string
    assert.equal(count(text), count(before.body) + 2)
    for (const name of [
      'replica_queue_seconds_bucket{le="0.001"}',
      'replica_preprocess_seconds_bucket{le="10"}',
      'replica_inference_seconds_count',
      'replica_request_duration_seconds_sum',
      'replica_batch_size_bucket{le="1"}',
      'replica_queue_depth',
      'replica_inflight',
      'replica_model_info{name="resnet18"',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(text.includes(name), `missing ${name}`)
    }
  })

  describe('bad input is a clear 4xx JSON error, and the next good request still succeeds', () => {
    const bomb = () =>
      sharp({ create: { width: 12_000, height: 12_000, channels: 3, background: '#000' } })
        .png({ compressionLevel: 9 })
        .toBuffer()
    const cases: [
      string,
      () => Promise<{ body?: Buffer | string; headers?: Record<string, string>; method?: 'GET' }>,
      number,
      string,
    ][] = [
      [
        'plain text body',
        async () => ({ body: 'hello', headers: { 'content-type': 'text/plain' } }),
        415,
        'unsupported_media_type',
      ],
      [
        'JSON body',
        async () => ({ body: '{"a":1}', headers: { 'content-type': 'application/json' } }),
        415,
        'unsupported_media_type',
      ],
      [
        'a file that is not an image',
        async () => multipart([{ field: 'file', filename: 'a.txt', data: 'just text' }]),
        415,
        'unsupported_media_type',
      ],
      [
        'a truncated JPEG',
        async () => multipart([{ field: 'file', filename: 'a.jpg', data: tench.subarray(0, 5000) }]),
        400,
        'invalid_image',
      ],
      ['no body at all', async () => ({ body: '', headers: { 'content-type': 'image/jpeg' } }), 400, 'empty_body'],
      ['an empty file', async () => multipart([{ field: 'file', filename: 'a.jpg', data: '' }]), 400, 'empty_body'],
      [
        'multipart without a file field',
        async () => multipart([{ field: 'comment', data: 'hi' }]),
        400,
        'missing_file',
      ],
      [
        'the file in an unknown field',
        async () => multipart([{ field: 'upload', filename: 'a.jpg', data: tench }]),
        400,
        'missing_file',
      ],
      [
        'two files',
        async () =>
          multipart([
            { field: 'file', filename: 'a.jpg', data: tench },
            { field: 'file', filename: 'b.jpg', data: tench },
          ]),
        400,
        'bad_request',
      ],
      [
        'a huge field name',
        async () => multipart([{ field: `file${'x'.repeat(50_000)}`, filename: 'a.jpg', data: tench }]),
        400,
        'missing_file',
      ],
      [
        'a raw body over 10 MB',
        async () => ({ body: Buffer.alloc(11 * 1024 * 1024), headers: { 'content-type': 'image/jpeg' } }),
        413,
        'payload_too_large',
      ],
      [
        'a multipart file over 10 MB',
        async () => multipart([{ field: 'file', filename: 'a.jpg', data: Buffer.alloc(11 * 1024 * 1024) }]),
        413,
        'payload_too_large',
      ],
      [
        'a decompression bomb',
        async () => ({ body: await bomb(), headers: { 'content-type': 'image/png' } }),
        413,
        'too_many_pixels',
      ],
      [
        'X-Timeout-Ms: -1',
        async () => ({
          ...(await multipart([{ field: 'file', filename: 'a.jpg', data: tench }])),
          headers: { ...(await multipart([])).headers, 'x-timeout-ms': '-1' },
        }),
        400,
        'invalid_header',
      ],
      [
        'X-Timeout-Ms: abc',
        async () => ({ body: tench, headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': 'abc' } }),
        400,
        'invalid_header',
      ],
      [
        'X-Timeout-Ms enormous',
        async () => ({ body: tench, headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': '9'.repeat(400) } }),
        400,
        'invalid_header',
      ],
      [
        'a malformed multipart body',
        async () => ({ body: '--x\r\ngarbage', headers: { 'content-type': 'multipart/form-data; boundary=x' } }),
        400,
        'bad_request',
      ],
      ['GET /predict', async () => ({ method: 'GET' }), 405, 'method_not_allowed'],
    ]
    for (const [name, build, status, code] of cases) {
      test(name, async () => {
        const request = await build()
        const response = await call(predict, request)
        assert.equal(response.status, status, JSON.stringify(response.body))
        assert.equal(errorCode(response), code)
        assert.match(String(response.headers['content-type']), /application\/json/)
        assert.equal((await postImage(predict, tench)).status, 200)
      })
    }

    test('unknown route → 404 not_found', async () => {
      const response = await call(`${replica.url}/nope`)
      assert.equal(response.status, 404)
      assert.equal(errorCode(response), 'not_found')
    })

    test('property: random bytes and random truncations of real JPEGs are always a 4xx; the process stays up', async () => {
      const jpegs = images.map((i) => i.bytes())
      const input = fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 4096 }).map((bytes) => Buffer.from(bytes)),
        fc
          .tuple(fc.integer({ min: 0, max: jpegs.length - 1 }), fc.double({ min: 0, max: 0.98, noNaN: true }))
          .map(([i, fraction]) => jpegs[i]!.subarray(0, Math.floor(jpegs[i]!.length * fraction))),
      )
      await fc.assert(
        fc.asyncProperty(input, fc.boolean(), async (bytes, asMultipart) => {
          const response = asMultipart
            ? await call(predict, await multipart([{ field: 'file', filename: 'x.jpg', data: bytes }]))
            : await call(predict, { body: bytes, headers: { 'content-type': 'image/jpeg' } })
          assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`)
          errorCode(response)
        }),
        { numRuns: 60 },
      )
      assert.equal((await postImage(predict, tench)).status, 200)
    })
  })
})

async function multipart(parts: MultipartPart[]) {
  const { body, contentType } = await multipartBody(parts)
  return { body, headers: { 'content-type': contentType } }
}
