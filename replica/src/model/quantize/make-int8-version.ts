import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { MissingDataError } from '../../../../common/config.ts'
import { isImageFileName } from '../../../../common/image-labels.ts'
import { RegistryError } from '../../../../common/model-registry/transitions.ts'
import type { ModelManifest } from '../manifest.ts'
import { runModelsCommand } from '../models-command.ts'
import {
  DEFAULT_MODEL,
  discoverModels,
  loadModelDefinitions,
  type ModelDefinition,
  type RegistryConfig,
} from '../registry.ts'
import type { CalibrationMethod } from './calibration-ranges.ts'
import { type QuantizedForm, type QuantizeResult, quantizeModel } from './quantize-model.ts'

export interface MakeInt8Request {
  model: string
  version: string
  /** The new version's name. */
  outVersion: string
  datasetsDir: string
  dataset: string
  images: number
  method: CalibrationMethod
  percentile: number
  form: QuantizedForm
  registry: RegistryConfig
  registryFile: string
  onImage?: (done: number, total: number, pass: number) => void
}

export interface MadeInt8Version {
  manifest: ModelManifest
  result: QuantizeResult
  /** What `npm run models -- register` printed. */
  registered: string[]
  calibrationSeconds: number
}

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/**
 * `npm run model:quantize`: finds the served fp32 version (as a replica would load it: ResNet18 from the cache or
 * built offline, a manifest's ONNX, a TF.js model converted), quantises it on images of a dataset, writes the int8
 * version folder and registers it as staging, exactly as `npm run models -- register` does.
 */
export async function makeInt8Version(request: MakeInt8Request, log: Logger): Promise<MadeInt8Version> {
  const modelsDir = request.registry.modelsDir
  if (!modelsDir) throw new RegistryError('unknown_model', 'model:quantize needs a models folder (MODELS_DIR)')
  const destination = join(modelsDir, request.model, request.outVersion)
  if (existsSync(destination)) throw new RegistryError('version_exists', `${destination} already exists`)
  const images = await calibrationImages(request.datasetsDir, request.dataset, request.images)
  const source = await findVersion(request, log)
  const started = performance.now()
  const result = await quantizeModel(source.bytes, {
    images,
    preprocess: source.preprocess,
    method: request.method,
    percentile: request.percentile,
    form: request.form,
    ...(request.onImage && { onImage: request.onImage }),
  })
  const calibrationSeconds = (performance.now() - started) / 1000
  const name = request.model
  const manifest: ModelManifest = {
    name,
    version: request.outVersion,
    format: 'onnx',
    file: `${name}.onnx`,
    input: { layout: source.preprocess.layout, size: source.preprocess.inputSize },
    preprocess: {
      resize: source.preprocess.resize,
      ...(source.preprocess.resizeShorterTo !== undefined && { resizeShorterTo: source.preprocess.resizeShorterTo }),
      scale: source.preprocess.scale,
      mean: [...source.preprocess.mean],
      std: [...source.preprocess.std],
    },
    labels: `${name}.labels.json`,
    labelOrder: 'model',
    pretrained: source.info.pretrained,
    sha256: createHash('sha256').update(result.bytes).digest('hex'),
    source: { format: 'onnx', path: source.info.path ?? `${name}@${request.version}`, sha256: source.info.sha256 },
    precision: 'int8',
    quantization: {
      sourceVersion: request.version,
      form: request.form,
      weights: 'int8, symmetric, one scale per output channel',
      activations: 'uint8, asymmetric, one scale and zero point per tensor',
      calibration: {
        method: request.method,
        ...(request.method === 'percentile' && { percentile: request.percentile }),
        dataset: request.dataset,
        images: images.length,
      },
    },
  }
  const staging = await mkdtemp(join(tmpdir(), 'switchyard-quantize-'))
  try {
    await writeFile(join(staging, manifest.file), result.bytes)
    await writeFile(join(staging, manifest.labels), `${JSON.stringify(source.labels, null, 1)}\n`)
    await writeFile(join(staging, `${name}.manifest.json`), `${JSON.stringify(manifest, null, 2)}\n`)
    const registered = await runModelsCommand({
      command: 'register',
      target: staging,
      version: request.outVersion,
      name,
      weight: undefined,
      force: false,
      modelsDir,
      registryFile: request.registryFile,
    })
    return { manifest, result, registered, calibrationSeconds }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function findVersion(request: MakeInt8Request, log: Logger): Promise<ModelDefinition> {
  // ResNet18 is provisioned (and, offline, built) only when it is the one asked for.
  const definitions =
    request.model === DEFAULT_MODEL
      ? await loadModelDefinitions(request.registry, log)
      : await discoverModels(request.registry, log)
  const found = definitions.find((d) => d.info.name === request.model && d.info.version === request.version)
  if (found) return found
  const known = definitions.map((d) => `${d.info.name} ${d.info.version}`).join(', ')
  throw new RegistryError('unknown_version', `no ${request.model} ${request.version} to quantise; served: ${known}`)
}

/**
 * `count` images spread evenly over the dataset (in name order, so over its classes when names start with the
 * class), not its first ones: one class's images would calibrate for that class alone.
 */
export async function calibrationImages(datasetsDir: string, dataset: string, count: number): Promise<string[]> {
  if (!DATASET_NAME.test(dataset)) throw new MissingDataError(`calibration dataset '${dataset}': not a dataset name`)
  const dir = join(datasetsDir, dataset)
  const names = existsSync(dir) ? (await readdir(dir)).filter(isImageFileName).sort() : []
  if (names.length === 0) {
    throw new MissingDataError(`calibration images not found: ${dir} does not exist or holds no images`)
  }
  const n = Math.min(count, names.length)
  return Array.from({ length: n }, (_, i) => join(dir, names[Math.floor((i * names.length) / n)]!))
}
