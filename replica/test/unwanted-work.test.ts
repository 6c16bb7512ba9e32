import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { call, errorCode, type JsonResponse, postImage } from '../../common/http/call.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { svgUseBomb } from '../../common/testing/svg-bomb.ts'
import { ACCEPTED_IMAGE_FORMATS, type ImageFormat } from '../src/image-format.ts'
import type { RunningReplica } from '../src/replica.ts'
import { startTestReplica } from './helpers.ts'

const tench = someSampleImages(1)[0]!.bytes()

/** What /metrics says about decoding and dropped work. */
async function decoding(replica: RunningReplica) {
  const text = (await call(`${replica.url}/metrics`)).body as string
  const dropped = (stage: string, reason: string) =>
    metric(text, `replica_dropped_total{stage="${stage}",reason="${reason}"}`)
  const started = metric(text, 'replica_preprocess_started_total')
  const waiting = metric(text, 'replica_preprocess_waiting')
  const droppedBeforeDecoding = dropped('preprocess', 'client_closed') + dropped('preprocess', 'deadline_exceeded')
  return {
    text,
    started,
    waiting,
    dropped,
    /** Requests that reached the decoding queue: decoded, waiting, or dropped from it. */
    entered: started + waiting + droppedBeforeDecoding,
  }
}

/** Polls /metrics until `ok` holds; fails naming `what` after a minute (only a broken replica gets there). */
async function until(replica: RunningReplica, what: string, ok: (m: Awaited<ReturnType<typeof decoding>>) => boolean) {
  const giveUp = Date.now() + 60_000
  for (;;) {
    const m = await decoding(replica)
    if (ok(m)) return m
    if (Date.now() > giveUp) throw new Error(`replica metrics never showed ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A 4000×4000 PNG that takes a noticeable while to decode (no shrink-on-load, unlike JPEG), under 4 MB. */
async function slowPng(): Promise<Buffer> {
  const side = 4000
  const raw = Buffer.alloc(side * side * 3)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 3
      raw[i] = x ^ y
      raw[i + 1] = (x * 7 + y) & 255
      raw[i + 2] = (x * y) & 255
    }
  }
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer()
}

const answered = (text: string, status: string, code: string) =>
  metric(text, `replica_requests_total{status="${status}",code="${code}",model="resnet18"}`)

const rawPng = (url: string, body: Buffer) => call(url, { body, headers: { 'content-type': 'image/png' } })

describe('only the listed image formats are decoded', () => {
  let replica: RunningReplica
  let predict: string

  before(async () => {
    replica = await startTestReplica()
    predict = `${replica.url}/predict`
  })
  after(() => replica.shutdown(5000))

  test('the SVG bomb (2.7 KB, 10¹⁰ shapes) is refused 415 unsupported_media_type before any decoding', async () => {
    const bomb = svgUseBomb()
    assert.ok(bomb.length < 3000)
    const before = await decoding(replica)
    const raw = await call(predict, { body: bomb, headers: { 'content-type': 'image/svg+xml' } })
    const disguised = await call(predict, { body: bomb, headers: { 'content-type': 'image/jpeg' } })
    const multipart = await postImage(predict, bomb)
    for (const response of [raw, disguised, multipart]) {
      assert.equal(response.status, 415, JSON.stringify(response.body))
      assert.equal(errorCode(response), 'unsupported_media_type')
      for (const format of ACCEPTED_IMAGE_FORMATS) assert.ok(response.body.error.includes(format), format)
    }
    assert.equal((await decoding(replica)).started, before.started, 'no SVG reached the decoder')
    assert.equal((await postImage(predict, tench)).status, 200)
  })

  test('and sharp itself no longer has an SVG decoder in a replica process', async () => {
    const harmless = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    await assert.rejects(sharp(harmless).metadata(), /unsupported image format/)
    await assert.rejects(sharp(svgUseBomb()).raw().toBuffer(), /unsupported image format/)
  })

  test('each listed format (JPEG, PNG, WebP, GIF, TIFF, AVIF) is still accepted, raw and as multipart', async () => {
    const photo = sharp(tench).resize(160, 120)
    const made: Record<ImageFormat, [Buffer, string]> = {
      JPEG: [await photo.clone().jpeg().toBuffer(), 'image/jpeg'],
      PNG: [await photo.clone().png().toBuffer(), 'image/png'],
      WebP: [await photo.clone().webp().toBuffer(), 'image/webp'],
      GIF: [await photo.clone().gif().toBuffer(), 'image/gif'],
      TIFF: [await photo.clone().tiff().toBuffer(), 'image/tiff'],
      AVIF: [await photo.clone().avif().toBuffer(), 'image/avif'],
    }
    for (const format of ACCEPTED_IMAGE_FORMATS) {
      const [bytes, type] = made[format]
      const answers: JsonResponse[] = [
        await call(predict, { body: bytes, headers: { 'content-type': type } }),
        await postImage(predict, bytes),
      ]
      for (const response of answers) {
        assert.equal(response.status, 200, `${format}: ${JSON.stringify(response.body)}`)
        assert.equal(response.body.top5.length, 5, format)
      }
    }
  })
})

describe('work nobody waits for is dropped before decoding', () => {
  let replica: RunningReplica
  let predict: string
  let slow: Buffer
  const AHEAD = 8

  before(async () => {
    // One decoding slot, and room for everyone: the queue in front of decoding is what is tested.
    replica = await startTestReplica(['--preprocess-slots', '1', '--max-inflight', '64', '--max-queue', '64'])
    predict = `${replica.url}/predict`
    slow = await slowPng()
  })
  after(() => replica.shutdown(10_000))

  /** Sends AHEAD slow images and waits until all of them are in the decoding queue. */
  async function fillQueue(): Promise<{ ahead: Promise<JsonResponse>[]; base: Awaited<ReturnType<typeof decoding>> }> {
    const base = await decoding(replica)
    const ahead = Array.from({ length: AHEAD }, () => rawPng(predict, slow))
    await until(replica, `${AHEAD} requests in the decoding queue`, (m) => m.entered === base.entered + AHEAD)
    return { ahead, base }
  }

  test('a request whose client disconnects while queued behind others is neither decoded nor inferred', async () => {
    const { ahead, base } = await fillQueue()
    const client = new AbortController()
    const target = call(predict, { body: tench, headers: { 'content-type': 'image/jpeg' }, signal: client.signal })
    // Arrival order is decoding order: once it is in the queue and someone waits, it waits behind the others.
    await until(replica, 'the last request waiting', (m) => m.entered === base.entered + AHEAD + 1 && m.waiting >= 1)
    client.abort()
    await assert.rejects(target)
    for (const response of await Promise.all(ahead)) assert.equal(response.status, 200)
    const m = await until(replica, 'the drop counted', (m) => m.dropped('preprocess', 'client_closed') > 0)
    assert.equal(m.dropped('preprocess', 'client_closed'), base.dropped('preprocess', 'client_closed') + 1)
    assert.equal(m.started, base.started + AHEAD, 'only the requests ahead were decoded')
    // Decoded is the only way to inference: a request never decoded was never inferred.
    assert.equal(answered(m.text, '499', 'client_closed'), answered(base.text, '499', 'client_closed') + 1)
    assert.equal(answered(m.text, '200', ''), answered(base.text, '200', '') + AHEAD)
  })

  test('a request whose deadline passes while queued behind others is answered 504 and neither decoded nor inferred', async () => {
    const { ahead, base } = await fillQueue()
    // 50 ms: far less than the eight slow images ahead take to decode, so it has expired by its turn (or even
    // before it queued; either way it must never be decoded).
    const late = await call(predict, {
      body: tench,
      headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': '50' },
    })
    assert.equal(late.status, 504, JSON.stringify(late.body))
    assert.equal(errorCode(late), 'deadline_exceeded')
    for (const response of await Promise.all(ahead)) assert.equal(response.status, 200)
    const m = await decoding(replica)
    assert.equal(m.dropped('preprocess', 'deadline_exceeded'), base.dropped('preprocess', 'deadline_exceeded') + 1)
    assert.equal(m.started, base.started + AHEAD, 'only the requests ahead were decoded')
    assert.equal(answered(m.text, '200', ''), answered(base.text, '200', '') + AHEAD)
  })

  test('an already expired deadline (X-Timeout-Ms: 0) is not decoded either', async () => {
    const base = await decoding(replica)
    const late = await postImage(predict, tench, { 'x-timeout-ms': '0' })
    assert.equal(late.status, 504)
    assert.equal(errorCode(late), 'deadline_exceeded')
    const m = await decoding(replica)
    assert.equal(m.dropped('preprocess', 'deadline_exceeded'), base.dropped('preprocess', 'deadline_exceeded') + 1)
    assert.equal(m.started, base.started)
    assert.equal((await postImage(predict, tench)).status, 200)
  })
})
