import assert from 'node:assert/strict'
import { cpSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { loadModelDefinitions } from '../src/model/registry.ts'
import { conv, leakyRelu, writeTfjsFixture } from './tfjs-fixture.ts'

describe('model registry (MODELS_DIR)', () => {
  let root: string
  const errors: string[] = []
  const log = pino({ level: 'warn' }, { write: (line: string) => errors.push(JSON.parse(line).msg) })
  const config = () => ({
    modelPath: undefined,
    modelFetch: false,
    modelSeed: 18,
    downloadTimeoutMs: 1000,
    modelCacheDir: join(root, 'cache'),
    modelsDir: join(root, 'models'),
  })

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'switchyard-registry-'))
    const layers = [conv(3, 4, 3), leakyRelu(), { class_name: 'GlobalAveragePooling2D', config: {} }]
    await writeTfjsFixture(join(root, 'models', 'tiny'), { inputShape: [16, 16, 3], layers, seed: 1 })
    mkdirSync(join(root, 'models', 'broken'))
    writeFileSync(join(root, 'models', 'broken', 'model.json'), '{"modelTopology": 1}')
  })
  after(() => rm(root, { recursive: true, force: true }))

  test('serves resnet18 first, converts a TF.js folder once and reuses the conversion, skips a broken model', async () => {
    const first = await loadModelDefinitions(config(), log)
    assert.deepEqual(
      first.map((d) => d.info.name),
      ['resnet18', 'tiny'],
    )
    const tiny = first[1]!
    assert.equal(tiny.info.source, 'converted')
    assert.deepEqual(tiny.labels, ['class 0', 'class 1', 'class 2', 'class 3'])
    assert.deepEqual(
      { ...tiny.preprocess },
      { inputSize: 16, layout: 'NCHW', resize: 'stretch', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
    )
    assert.ok(
      errors.some((message) => message.includes('broken')),
      'the broken model is reported',
    )

    const converted = join(root, 'cache', 'converted', 'tiny', 'tiny.onnx')
    const writtenAt = statSync(converted).mtimeMs
    const second = await loadModelDefinitions(config(), log)
    assert.equal(second[1]!.info.sha256, tiny.info.sha256)
    assert.equal(statSync(converted).mtimeMs, writtenAt, 'the cached conversion is reused')
  })

  test('a folder with a manifest is served as it is, and an ONNX file that does not match its sha256 is refused', async () => {
    cpSync(join(root, 'cache', 'converted', 'tiny'), join(root, 'models', 'shipped'), { recursive: true })
    // The manifest keeps its name `tiny`: a second model with the same name is refused.
    errors.length = 0
    const withDuplicate = await loadModelDefinitions(config(), log)
    assert.deepEqual(
      withDuplicate.map((d) => `${d.info.name}:${d.info.source}`),
      ['resnet18:generated', 'tiny:manifest'],
    )
    assert.ok(errors.some((message) => message.includes('same name')))

    writeFileSync(join(root, 'models', 'shipped', 'tiny.onnx'), 'not the model')
    errors.length = 0
    const tampered = await loadModelDefinitions(config(), log)
    assert.deepEqual(
      tampered.map((d) => `${d.info.name}:${d.info.source}`),
      ['resnet18:generated', 'tiny:converted'],
    )
    assert.ok(errors.some((message) => message.includes('shipped')))
  })

  test('MODELS_DIR/<name>/<version>/: each version folder is one version, named by its folders, beside a version in the model folder itself', async () => {
    const modelsDir = join(root, 'versioned-models')
    // The model folder holds a version itself (TF.js, as before versions), plus v1 (TF.js) and v2 (a manifest folder).
    cpSync(join(root, 'models', 'tiny'), join(modelsDir, 'tiny'), { recursive: true })
    cpSync(join(root, 'models', 'tiny'), join(modelsDir, 'tiny', 'v1'), { recursive: true })
    cpSync(join(root, 'cache', 'converted', 'tiny'), join(modelsDir, 'tiny', 'v2'), { recursive: true })
    mkdirSync(join(modelsDir, 'tiny', 'notes'))
    errors.length = 0
    const definitions = await loadModelDefinitions({ ...config(), modelsDir }, log)
    assert.deepEqual(
      definitions.map((d) => `${d.info.name}@${d.info.version}:${d.info.source}`),
      [
        'resnet18@untrained-seed18:generated',
        `tiny@${definitions[1]!.info.version}:converted`,
        'tiny@v1:converted',
        'tiny@v2:manifest',
      ],
    )
    assert.match(definitions[1]!.info.version, /^tfjs-[0-9a-f]{12}$/)
    assert.equal(definitions[2]!.info.sha256, definitions[1]!.info.sha256, 'the same model, converted for each version')
    assert.deepEqual(
      errors.filter((message) => !message.includes('UNTRAINED')),
      [],
      'a folder without a model (notes/) is not a version, and nothing failed',
    )
  })
})
