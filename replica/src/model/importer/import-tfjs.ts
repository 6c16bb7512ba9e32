import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { ModelManifest, ModelPreprocess } from '../manifest.ts'
import { readLabels } from '../manifest.ts'
import { readTfjsLayersModel } from './tfjs-model.ts'
import { convertTfjsToOnnx } from './tfjs-to-onnx.ts'
import { transformKernels, transformSuffix, type WeightTransform } from './weight-transforms.ts'

export interface ImportOptions {
  /** Default: the name of model.json's folder. */
  name?: string
  /** Default: labels.json beside model.json. */
  labelsPath?: string
  /** Default: stretch to the input size, pixels scaled to [0, 1] (what Keras image models trained from /255 use). */
  preprocess?: ModelPreprocess
  /** Converted models are trained unless said otherwise. */
  pretrained?: boolean
  /** Weights rounded or pruned while importing (a second, measurably different version of the same model). */
  transform?: WeightTransform
  /** Default: `tfjs-` and the first 12 hex digits of model.json's sha256, plus the transform's suffix. */
  version?: string
}

export interface ImportedModel {
  manifestPath: string
  manifest: ModelManifest
  parameterCount: number
  kerasParameterCount: number
}

export const STRETCH_TO_UNIT_RANGE: ModelPreprocess = {
  resize: 'stretch',
  scale: 1 / 255,
  mean: [0, 0, 0],
  std: [1, 1, 1],
}

/** The version of a converted TF.js model: `tfjs-` and the start of its model.json's sha256. */
export function tfjsVersionOf(modelJsonSha256: string): string {
  return `tfjs-${modelJsonSha256.slice(0, 12)}`
}

/**
 * Converts a TF.js layers model into `<out>/<name>.onnx`, its labels and `<name>.manifest.json`. Files are written
 * under temporary names and renamed, the manifest last, so a reader never sees a half-written model.
 */
export async function importTfjsModel(
  modelJsonPath: string,
  outDir: string,
  options: ImportOptions = {},
): Promise<ImportedModel> {
  const name = options.name ?? basename(dirname(modelJsonPath)).toLowerCase()
  const labelsPath = options.labelsPath ?? join(dirname(modelJsonPath), 'labels.json')
  if (!existsSync(labelsPath)) throw new Error(`no labels: ${labelsPath} does not exist (give --labels)`)
  const labels = await readLabels(labelsPath)
  const model = await readTfjsLayersModel(modelJsonPath)
  const transform = options.transform ?? {}
  const version = options.version ?? `${tfjsVersionOf(model.modelJsonSha256)}${transformSuffix(transform)}`
  const converted = convertTfjsToOnnx(transformKernels(model.layers, transform), {
    graphName: name,
    docString: `Converted by Switchyard from ${basename(modelJsonPath)} (Keras ${model.kerasVersion ?? 'unknown'})`,
    metadata: { 'switchyard.source_sha256': model.modelJsonSha256 },
  })
  if (labels.length !== converted.classes) {
    throw new Error(`${labelsPath} has ${labels.length} names, the model has ${converted.classes} outputs`)
  }
  if (converted.input.channels !== 3 || converted.input.height !== converted.input.width) {
    throw new Error(
      `the model takes ${converted.input.height}×${converted.input.width}×${converted.input.channels}, not a square RGB image`,
    )
  }
  const manifest: ModelManifest = {
    name,
    version,
    format: 'onnx',
    file: `${name}.onnx`,
    input: { layout: 'NCHW', size: converted.input.height },
    preprocess: options.preprocess ?? STRETCH_TO_UNIT_RANGE,
    labels: `${name}.labels.json`,
    labelOrder: 'model',
    pretrained: options.pretrained ?? true,
    sha256: createHash('sha256').update(converted.bytes).digest('hex'),
    source: { format: 'tfjs-layers', path: model.modelJsonPath, sha256: model.modelJsonSha256 },
  }
  await mkdir(outDir, { recursive: true })
  const manifestPath = join(outDir, `${name}.manifest.json`)
  await writeAtomically(join(outDir, manifest.file), converted.bytes)
  await writeAtomically(join(outDir, manifest.labels), `${JSON.stringify(labels, null, 1)}\n`)
  await writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  return {
    manifestPath,
    manifest,
    parameterCount: converted.parameterCount,
    kerasParameterCount: model.kerasParameterCount,
  }
}

async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, data)
  await rename(temporary, path)
}
