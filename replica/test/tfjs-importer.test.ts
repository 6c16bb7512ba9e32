import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import * as ort from 'onnxruntime-node'
import { createRandom } from '../../common/random.ts'
import { runEntryPoint } from '../../common/testing/run-command.ts'
import { importTfjsModel } from '../src/model/importer/import-tfjs.ts'
import { readTfjsLayersModel } from '../src/model/importer/tfjs-model.ts'
import { convertTfjsToOnnx } from '../src/model/importer/tfjs-to-onnx.ts'
import { readManifest } from '../src/model/manifest.ts'
import { kerasForward } from './keras-reference.ts'
import { batchNorm, conv, type FixtureLayer, leakyRelu, maxPool, writeTfjsFixture } from './tfjs-fixture.ts'

const DARKNET_TINY = new URL('../../../shared/models/darknet-tiny/model.json', import.meta.url).pathname

let workDir: string
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'switchyard-importer-'))
})
after(async () => {
  await rm(workDir, { recursive: true, force: true })
})

/** Random NHWC images in [0, 1), as the model's preprocessing produces them. */
function randomImages(count: number, [height, width, channels]: number[], seed: number): Float64Array[] {
  const random = createRandom(seed)
  return Array.from({ length: count }, () =>
    Float64Array.from({ length: height! * width! * channels! }, () => random()),
  )
}

function nhwcToNchw(image: Float64Array, height: number, width: number, channels: number): Float32Array {
  const out = new Float32Array(image.length)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) out[(c * height + y) * width + x] = image[(y * width + x) * channels + c]!
  return out
}

/** Runs the converted model on all images as one batch and compares every output with the reference. */
async function assertMatchesReference(modelJson: string, images: Float64Array[]): Promise<number> {
  const model = await readTfjsLayersModel(modelJson)
  const converted = convertTfjsToOnnx(model.layers, { graphName: 'under-test' })
  const { height, width, channels } = converted.input
  const session = await ort.InferenceSession.create(converted.bytes)
  const batch = new Float32Array(images.length * channels * height * width)
  for (const [i, image] of images.entries()) {
    batch.set(nhwcToNchw(image, height, width, channels), i * channels * height * width)
  }
  const result = await session.run({
    input: new ort.Tensor('float32', batch, [images.length, channels, height, width]),
  })
  const logits = result.logits!.data as Float32Array
  await session.release()
  let worst = 0
  images.forEach((image, i) => {
    const expected = kerasForward(model.layers, { kind: 'image', height, width, channels, data: image })
    const scale = Math.max(1, ...expected.map(Math.abs))
    expected.forEach((value, j) => {
      const error = Math.abs(logits[i * expected.length + j]! - value) / scale
      worst = Math.max(worst, error)
    })
  })
  assert.ok(worst <= 1e-4, `largest difference from the reference: ${worst} (relative to the largest output)`)
  return worst
}

describe('TF.js layers importer', () => {
  test('a DarkNet-style chain on an odd, non-square input matches the reference (folded BN, asymmetric same padding)', async () => {
    const layers: FixtureLayer[] = [
      conv(3, 8, 3, { use_bias: false }),
      batchNorm(8),
      leakyRelu(0.1),
      maxPool(2, 2),
      conv(8, 6, 1, { use_bias: false }),
      batchNorm(6),
      leakyRelu(0.1),
      conv(6, 5, 3, { strides: [2, 2], activation: 'relu' }),
      maxPool(3, 1),
      conv(5, 7, 1),
      { class_name: 'GlobalAveragePooling2D', config: { data_format: 'channels_last' } },
    ]
    const modelJson = await writeTfjsFixture(join(workDir, 'chain'), { inputShape: [13, 11, 3], layers, seed: 1 })
    await assertMatchesReference(modelJson, randomImages(3, [13, 11, 3], 2))
  })

  test('a Sequential model with valid padding, standalone BN, Flatten and Dense layers matches the reference', async () => {
    const layers: FixtureLayer[] = [
      conv(2, 4, 3, { padding: 'valid' }),
      { class_name: 'Activation', config: { activation: 'relu' } },
      batchNorm(4),
      maxPool(2, 2, 'valid'),
      { class_name: 'Flatten', config: {} },
      {
        class_name: 'Dense',
        config: { units: 10, activation: 'relu', use_bias: true },
        weights: [
          ['kernel', [3 * 2 * 4, 10]],
          ['bias', [10]],
        ],
      },
      { class_name: 'ReLU', config: {} },
      {
        class_name: 'Dense',
        config: { units: 5, activation: 'softmax', use_bias: false },
        weights: [['kernel', [10, 5]]],
      },
    ]
    const modelJson = await writeTfjsFixture(join(workDir, 'sequential'), {
      inputShape: [9, 7, 2],
      layers,
      seed: 3,
      style: 'sequential',
    })
    await assertMatchesReference(modelJson, randomImages(2, [9, 7, 2], 4))
  })

  test('DarkNet-tiny converts and matches the reference on a random image', {
    skip: !existsSync(DARKNET_TINY),
  }, async () => {
    await assertMatchesReference(DARKNET_TINY, randomImages(1, [224, 224, 3], 5))
  })

  test('model:import writes the ONNX file, its labels and a manifest that checks out', async () => {
    const layers = [conv(3, 4, 3), leakyRelu(), { class_name: 'GlobalAveragePooling2D', config: {} }]
    const modelJson = await writeTfjsFixture(join(workDir, 'Small'), { inputShape: [8, 8, 3], layers, seed: 6 })
    const imported = await importTfjsModel(modelJson, join(workDir, 'out'))
    const manifest = await readManifest(imported.manifestPath)
    assert.equal(manifest.name, 'small')
    assert.deepEqual(manifest.input, { layout: 'NCHW', size: 8 })
    assert.equal(manifest.preprocess.resize, 'stretch')
    assert.equal(manifest.pretrained, true)
    assert.deepEqual(JSON.parse(await readFile(join(manifest.directory, manifest.labels), 'utf8')), [
      'class 0',
      'class 1',
      'class 2',
      'class 3',
    ])
    assert.equal(imported.parameterCount, 3 * 3 * 3 * 4 + 4)
  })

  test('npm run model:import: the model.json as a bare argument, options through the common flags, bad flags exit 2', async () => {
    const layers = [conv(3, 2, 3), { class_name: 'GlobalAveragePooling2D', config: {} }]
    const modelJson = await writeTfjsFixture(join(workDir, 'Cli'), { inputShape: [8, 8, 3], layers, seed: 9 })
    const tool = fileURLToPath(new URL('../tools/model-import.ts', import.meta.url))
    const out = join(workDir, 'cli-out')
    const done = await runEntryPoint(tool, [
      modelJson,
      '--out',
      out,
      '--name',
      'cli',
      '--mean',
      '0.5,0.5,0.5',
      '--untrained',
      'true',
    ])
    assert.equal(done.code, 0, done.stderr)
    const manifest = await readManifest(join(out, 'cli.manifest.json'))
    assert.deepEqual([manifest.name, manifest.pretrained, manifest.preprocess.mean], ['cli', false, [0.5, 0.5, 0.5]])

    const noOut = await runEntryPoint(tool, [modelJson])
    assert.equal(noOut.code, 2)
    assert.match(noOut.stderr, /--out <dir> is required/)
    const badMean = await runEntryPoint(tool, [modelJson, '--out', out, '--mean', '1,2'])
    assert.equal(badMean.code, 2)
    assert.match(badMean.stderr, /--mean="1,2".*three numbers/)
  })

  test('an unknown layer type is refused with an error naming the layer', async () => {
    const layers = [
      conv(3, 4, 3),
      { class_name: 'Dropout', config: { rate: 0.5 } },
      { class_name: 'GlobalAveragePooling2D', config: {} },
    ]
    const modelJson = await writeTfjsFixture(join(workDir, 'dropout'), { inputShape: [8, 8, 3], layers, seed: 7 })
    await assert.rejects(readTfjsLayersModel(modelJson), /layer 'dropout_2' \(Dropout\): unknown layer type/)
  })

  test('unsupported options, branches, missing weights and shards outside the folder are refused clearly', async () => {
    const dilated = await writeTfjsFixture(join(workDir, 'dilated'), {
      inputShape: [8, 8, 3],
      layers: [conv(3, 4, 3, { dilation_rate: [2, 2] }), { class_name: 'GlobalAveragePooling2D', config: {} }],
      seed: 8,
    })
    await assert.rejects(
      readTfjsLayersModel(dilated),
      /layer 'conv2d_1' \(Conv2D\): dilation_rate \[2,2\] is not supported/,
    )

    const json = JSON.parse(await readFile(dilated, 'utf8'))
    const layers = json.modelTopology.model_config.config.layers
    layers[2].inbound_nodes = [[['input_1', 0, 0, {}]]]
    layers[1].config.dilation_rate = [1, 1]
    await writeFile(dilated, JSON.stringify(json))
    await assert.rejects(readTfjsLayersModel(dilated), /takes its input from 'input_1'.*only sequential chains/)

    layers[2].inbound_nodes = [[['conv2d_1', 0, 0, {}]]]
    json.weightsManifest[0].weights[0].name = 'conv2d_1/kernel_renamed'
    await writeFile(dilated, JSON.stringify(json))
    await assert.rejects(readTfjsLayersModel(dilated), /weight conv2d_1\/kernel is missing/)

    json.weightsManifest[0].paths = ['../../etc/passwd']
    await writeFile(dilated, JSON.stringify(json))
    await assert.rejects(readTfjsLayersModel(dilated), /outside the model's folder/)
  })
})
