import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { testLogger } from '../../common/testing/silent-logger.ts'
import { ChecksumMismatchError, downloadVerified } from '../src/model/download.ts'
import { PRETRAINED_RESNET18 } from '../src/model/pretrained.ts'
import { provisionResnet18 } from '../src/model/provision.ts'
import { buildUntrainedResnet18 } from '../src/model/resnet18-graph.ts'

const payload = Buffer.from('pretend these are 46 MB of ONNX weights'.repeat(1000))
const payloadSha = createHash('sha256').update(payload).digest('hex')

let server: Server
let base: string
let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-model-'))
  server = createServer((request, response) => {
    if (request.url === '/model.onnx') return response.end(payload)
    if (request.url === '/moved') return response.writeHead(302, { location: '/model.onnx' }).end()
    response.writeHead(404).end('not here')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

after(async () => {
  server.close()
  await rm(dir, { recursive: true, force: true })
})

describe('downloadVerified', () => {
  test('writes the file when the checksum matches (following redirects) and leaves no temporary file', async () => {
    const destination = join(dir, 'ok', 'model.onnx')
    await downloadVerified({ url: `${base}/moved`, sha256: payloadSha, destination, timeoutMs: 5000 })
    assert.deepEqual(await readFile(destination), payload)
    assert.deepEqual(await readdir(join(dir, 'ok')), ['model.onnx'])
  })

  test('a wrong checksum deletes the download and says which checksums differ', async () => {
    const destination = join(dir, 'bad', 'model.onnx')
    await assert.rejects(
      downloadVerified({ url: `${base}/model.onnx`, sha256: 'f'.repeat(64), destination, timeoutMs: 5000 }),
      (error: unknown) =>
        error instanceof ChecksumMismatchError &&
        error.message.includes('f'.repeat(64)) &&
        error.message.includes(payloadSha) &&
        /deleted/.test(error.message),
    )
    assert.deepEqual(await readdir(join(dir, 'bad')), [])
  })

  test('an HTTP error leaves nothing behind', async () => {
    const destination = join(dir, 'missing', 'model.onnx')
    await assert.rejects(
      downloadVerified({ url: `${base}/nope`, sha256: payloadSha, destination, timeoutMs: 5000 }),
      /HTTP 404/,
    )
    assert.deepEqual(await readdir(join(dir, 'missing')), [])
  })
})

describe('provisionResnet18', () => {
  const log = testLogger('provision-test')
  const config = (overrides: Partial<Parameters<typeof provisionResnet18>[0]>) => ({
    modelPath: undefined,
    modelCacheDir: join(dir, 'cache'),
    modelFetch: false,
    modelSeed: 7,
    downloadTimeoutMs: 2000,
    ...overrides,
  })

  test('offline with nothing cached: the untrained graph, labelled as such', async () => {
    const model = await provisionResnet18(config({}), log)
    assert.equal(model.info.source, 'generated')
    assert.equal(model.info.pretrained, false)
    assert.equal(model.info.version, 'untrained-seed7')
  })

  test('the untrained graph is built once: later starts read the same model from the cache, a broken file is rebuilt', async () => {
    const cacheDir = join(dir, 'untrained-cache')
    const first = await provisionResnet18(config({ modelCacheDir: cacheDir }), log)
    assert.ok(first.info.path?.startsWith(cacheDir))
    const again = await provisionResnet18(config({ modelCacheDir: cacheDir }), log)
    assert.equal(again.info.sha256, first.info.sha256)
    assert.equal(again.info.version, 'untrained-seed7')
    assert.equal(again.info.path, first.info.path)
    await writeFile(first.info.path!, 'truncated')
    const rebuilt = await provisionResnet18(config({ modelCacheDir: cacheDir }), log)
    assert.equal(rebuilt.info.sha256, first.info.sha256)
    const otherSeed = await provisionResnet18(config({ modelCacheDir: cacheDir, modelSeed: 8 }), log)
    assert.notEqual(otherSeed.info.sha256, first.info.sha256)
  })

  test('MODEL_PATH wins; a file we generated still says it is untrained', async () => {
    const path = join(dir, 'custom.onnx')
    await writeFile(path, buildUntrainedResnet18(3).bytes)
    const model = await provisionResnet18(config({ modelPath: path }), log)
    assert.equal(model.info.source, 'path')
    assert.equal(model.info.pretrained, false)
    assert.equal(model.info.version, 'untrained-seed3')
  })

  test('a cached "pretrained" file with the wrong checksum is ignored', async () => {
    const cacheDir = join(dir, 'corrupt-cache')
    await downloadVerified({
      url: `${base}/model.onnx`,
      sha256: payloadSha,
      destination: join(cacheDir, PRETRAINED_RESNET18.fileName),
      timeoutMs: 5000,
    })
    const model = await provisionResnet18(config({ modelCacheDir: cacheDir }), log)
    assert.equal(model.info.source, 'generated')
  })

  test('MODEL_FETCH when the download fails (offline): falls back to the untrained graph', async () => {
    const model = await provisionResnet18(config({ modelFetch: true, downloadTimeoutMs: 1000 }), log)
    assert.equal(model.info.source, 'generated')
    assert.equal(existsSync(join(dir, 'cache', PRETRAINED_RESNET18.fileName)), false)
  })
})

test('a MODEL_PATH that is not an ONNX file fails start-up with a message naming it', async () => {
  const path = join(dir, 'not-a-model.onnx')
  await writeFile(path, 'this is text, not protobuf \u0006\u0007')
  await assert.rejects(
    provisionResnet18(
      { modelPath: path, modelCacheDir: dir, modelFetch: false, modelSeed: 1, downloadTimeoutMs: 1000 },
      testLogger('provision-test'),
    ),
    new RegExp(`${path.replaceAll('/', '\\/')} is not an ONNX model`),
  )
})
