import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ort from 'onnxruntime-node'
import { sameLabel, truthFromFileName } from '../../common/image-labels.ts'
import { readStateFile } from '../../common/model-registry/state-file.ts'
import { SAMPLE_IMAGES_DIR, sampleImages } from '../../common/sample-images.ts'
import { runEntryPoint } from '../../common/testing/run-command.ts'
import { readManifest } from '../src/model/manifest.ts'
import { decodeOnnxModel, TENSOR_TYPE } from '../src/model/onnx/onnx-model.ts'
import { imageToTensor } from '../src/preprocess.ts'

const DARKNET_DIR = fileURLToPath(new URL('../../../shared/models/darknet-tiny', import.meta.url))
const QUANTIZE = fileURLToPath(new URL('../tools/model-quantize.ts', import.meta.url))
const CALIBRATION_IMAGES = 32
const HELD_OUT = 50
/**
 * Measured on these 50 images (none of them a calibration image), 2026-12: the int8 version's top-1 equals fp32's on
 * 46 of them, and the softmax probabilities differ by 0.21 in L1 on average (of at most 2). The bounds leave room for
 * another calibration draw, not for a broken quantiser (a wrong scale or zero point gives agreement near 0).
 */
const MIN_TOP1_AGREEMENT = 0.8
const MAX_MEAN_PROBABILITY_L1 = 0.35
/** And on accuracy against the labels: at most this many points below fp32 on the same images. */
const MAX_TOP1_DROP = 0.06

/**
 * `npm run model:quantize` on the trained darknet-tiny (a temporary MODELS_DIR holding links to ../shared's files,
 * so nothing is written there): the int8 version is written and registered as staging, its graph holds int8 weights
 * and QDQ pairs that ONNX Runtime turns into QLinearConv, and its answers stay close to fp32's on real images.
 */
describe('model:quantize on darknet-tiny', () => {
  const work = mkdtempSync(join(tmpdir(), 'quantize-darknet-'))
  const modelsDir = join(work, 'models')
  const cacheDir = join(work, 'cache')
  const registryFile = join(work, 'registry.json')
  let fp32Version: string
  let fp32Path: string
  let int8Dir: string
  const quantize = (...args: string[]) =>
    runEntryPoint(
      QUANTIZE,
      [
        ...['--model', 'darknet-tiny', '--models-dir', modelsDir, '--model-cache-dir', cacheDir],
        ...['--model-registry-file', registryFile, '--calibration-images', String(CALIBRATION_IMAGES), ...args],
      ],
      { timeoutMs: 280_000 },
    )

  before(async () => {
    mkdirSync(join(modelsDir, 'darknet-tiny'), { recursive: true })
    for (const file of readdirSync(DARKNET_DIR)) {
      symlinkSync(join(DARKNET_DIR, file), join(modelsDir, 'darknet-tiny', file))
    }
    // The fp32 version's name is its model.json's hash; --version of a wrong one lists what there is.
    const unknown = await quantize('--version', 'no-such-version')
    assert.equal(unknown.code, 1, unknown.stderr)
    const listed = /served: darknet-tiny (\S+)/.exec(unknown.stderr)
    assert.ok(listed, unknown.stderr)
    assert.doesNotMatch(unknown.stderr, /\n\s+at /, 'one line, no stack trace')
    fp32Version = listed[1]!.replace(/[,(]$/, '')
    fp32Path = join(cacheDir, 'converted', 'darknet-tiny', 'darknet-tiny.onnx')
    const made = await quantize('--version', fp32Version)
    assert.equal(made.code, 0, made.stdout + made.stderr)
    assert.match(made.stdout, /16 Conv\/Gemm\/MatMul quantised/)
    assert.match(made.stdout, /registered darknet-tiny \S+-int8 \(staging\)/)
    int8Dir = join(modelsDir, 'darknet-tiny', `${fp32Version}-int8`)
  })

  test('the version folder: manifest says int8 and how it was calibrated; registered as staging', async () => {
    const manifest = await readManifest(join(int8Dir, 'darknet-tiny.manifest.json'))
    assert.equal(manifest.precision, 'int8')
    assert.equal(manifest.version, `${fp32Version}-int8`)
    assert.deepEqual(manifest.quantization?.calibration, {
      method: 'mse',
      dataset: 'imagenet-sample',
      images: CALIBRATION_IMAGES,
    })
    assert.equal(manifest.quantization?.sourceVersion, fp32Version)
    const { state } = await readStateFile(registryFile)
    const versions = state.models['darknet-tiny']!.versions
    assert.equal(versions[`${fp32Version}-int8`]?.stage, 'staging')
    assert.equal(versions[fp32Version]?.stage, 'production', 'what served darknet-tiny until now stays production')

    const again = await quantize('--version', fp32Version)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already exists \(version_exists\)/)
  })

  test('int8 weights per output channel, and ONNX Runtime runs every Conv as QLinearConv', async () => {
    const bytes = readFileSync(join(int8Dir, 'darknet-tiny.onnx'))
    const model = decodeOnnxModel(new Uint8Array(bytes))
    const int8Weights = model.graph.initializer.filter(
      (t) => t.dataType === TENSOR_TYPE.INT8 && (t.dims?.length ?? 0) === 4,
    )
    assert.equal(int8Weights.length, 16)
    assert.ok(!model.graph.initializer.some((t) => t.dataType === TENSOR_TYPE.FLOAT && (t.dims?.length ?? 0) === 4))
    assert.ok(bytes.byteLength < readFileSync(fp32Path).byteLength / 3, 'int8 weights: about a quarter of the bytes')

    const optimized = join(work, 'optimized.onnx')
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      optimizedModelFilePath: optimized,
      logSeverityLevel: 3,
    })
    await session.release()
    const ops = decodeOnnxModel(new Uint8Array(readFileSync(optimized))).graph.node.map((n) => n.opType)
    assert.equal(ops.filter((op) => op === 'QLinearConv').length, 16, ops.join(' '))
    assert.ok(!ops.includes('Conv'), 'no float convolution left')
  })

  test(`answers stay close to fp32 on ${HELD_OUT} real images the calibration did not see`, async (t) => {
    const manifest = await readManifest(join(int8Dir, 'darknet-tiny.manifest.json'))
    const labels = JSON.parse(readFileSync(join(int8Dir, manifest.labels), 'utf8')) as string[]
    const all = sampleImages()
    const calibration = new Set(
      Array.from(
        { length: CALIBRATION_IMAGES },
        (_, i) => all[Math.floor((i * all.length) / CALIBRATION_IMAGES)]!.name,
      ),
    )
    const images = all.filter((_, i) => i % 19 === 7 && !calibration.has(all[i]!.name)).slice(0, HELD_OUT)
    assert.equal(images.length, HELD_OUT)
    const open = (bytes: Uint8Array) =>
      ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 })
    const fp32 = await open(new Uint8Array(readFileSync(fp32Path)))
    const int8 = await open(new Uint8Array(readFileSync(join(int8Dir, 'darknet-tiny.onnx'))))
    const spec = {
      inputSize: manifest.input.size,
      layout: manifest.input.layout,
      ...manifest.preprocess,
      maxInputPixels: 50_000_000,
    }
    let agree = 0
    let l1 = 0
    const correct = { fp32: 0, int8: 0 }
    for (const image of images) {
      const input = await imageToTensor(readFileSync(join(SAMPLE_IMAGES_DIR, image.name)), spec)
      const feed = (s: ort.InferenceSession) => ({
        [s.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, 224, 224]),
      })
      const a = softmax((await fp32.run(feed(fp32)))[fp32.outputNames[0]!]!.data as Float32Array)
      const b = softmax((await int8.run(feed(int8)))[int8.outputNames[0]!]!.data as Float32Array)
      if (argmax(a) === argmax(b)) agree++
      l1 += a.reduce((sum, p, i) => sum + Math.abs(p - b[i]!), 0)
      const truth = truthFromFileName(image.name)!
      if (sameLabel(labels[argmax(a)]!, truth)) correct.fp32++
      if (sameLabel(labels[argmax(b)]!, truth)) correct.int8++
    }
    await fp32.release()
    await int8.release()
    const figures = `top-1 agreement ${agree}/${HELD_OUT}, mean probability L1 ${(l1 / HELD_OUT).toFixed(3)}, correct fp32 ${correct.fp32} int8 ${correct.int8}`
    t.diagnostic(figures)
    assert.ok(agree / HELD_OUT >= MIN_TOP1_AGREEMENT, figures)
    assert.ok(l1 / HELD_OUT <= MAX_MEAN_PROBABILITY_L1, figures)
    assert.ok((correct.fp32 - correct.int8) / HELD_OUT <= MAX_TOP1_DROP, figures)
  })

  test('--help answers without doing the job', async () => {
    const help = await runEntryPoint(QUANTIZE, ['--help', '--model', 'darknet-tiny', '--version', 'x'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--calibration-images/)
    assert.match(help.stdout, /--calibration-dataset/)
  })

  test('a missing dataset is one line and exit 1', async () => {
    const missing = await quantize(
      '--version',
      fp32Version,
      '--calibration-dataset',
      'no-such-dataset',
      '--out-version',
      'x-int8',
    )
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /calibration images not found/)
  })
})

function softmax(logits: Float32Array): Float64Array {
  const max = logits.reduce((a, b) => Math.max(a, b))
  const exp = Float64Array.from(logits, (v) => Math.exp(v - max))
  const sum = exp.reduce((a, b) => a + b, 0)
  return exp.map((v) => v / sum)
}

function argmax(values: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i
  return best
}
