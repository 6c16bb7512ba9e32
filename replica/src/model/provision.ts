import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Logger } from 'pino'
import { downloadVerified } from './download.ts'
import { PRETRAINED_RESNET18 } from './pretrained.ts'
import { UNTRAINED_MODEL_VERSION_PREFIX } from './untrained.ts'

export interface ModelInfo {
  name: string
  version: string
  pretrained: boolean
  /** Where the bytes came from, in the order they are tried. */
  source: 'path' | 'cache' | 'download' | 'generated' | 'manifest' | 'converted'
  sha256: string
  path?: string
}

export interface ProvisionedModel {
  bytes: Uint8Array
  info: ModelInfo
}

export interface ProvisionConfig {
  modelPath: string | undefined
  modelCacheDir: string
  modelFetch: boolean
  modelSeed: number
  downloadTimeoutMs: number
}

export const UNTRAINED_WARNING =
  'ResNet18 is running with UNTRAINED weights (no pretrained model found offline): predictions are meaningless. ' +
  'Run `npm run model:fetch` online, or set MODEL_PATH, for real predictions.'

/** What a response says about a model with untrained weights, if it has them. */
export function untrainedWarning(model: Pick<ModelInfo, 'name' | 'pretrained'>): string | undefined {
  if (model.pretrained) return undefined
  return model.name === 'resnet18'
    ? UNTRAINED_WARNING
    : `${model.name} has UNTRAINED weights: predictions are meaningless.`
}

/**
 * Finds the ResNet18 to serve: MODEL_PATH if set; else the cached pretrained file; else a download when
 * MODEL_FETCH is on; else (offline) the deterministic, untrained ResNet18 graph built in memory.
 */
export async function provisionResnet18(config: ProvisionConfig, log: Logger): Promise<ProvisionedModel> {
  if (config.modelPath) return loadModelFile(config.modelPath, 'path')

  const cached = join(config.modelCacheDir, PRETRAINED_RESNET18.fileName)
  if (existsSync(cached)) {
    const bytes = new Uint8Array(await readFile(cached))
    const sha256 = sha256Of(bytes)
    if (sha256 === PRETRAINED_RESNET18.sha256) return describeModelFile(bytes, sha256, cached, 'cache')
    log.warn({ path: cached, sha256 }, 'cached pretrained model has the wrong checksum; ignoring it')
  }

  if (config.modelFetch) {
    try {
      log.info({ url: PRETRAINED_RESNET18.url }, 'downloading pretrained ResNet18')
      await downloadVerified({
        url: PRETRAINED_RESNET18.url,
        sha256: PRETRAINED_RESNET18.sha256,
        destination: cached,
        timeoutMs: config.downloadTimeoutMs,
      })
      return await loadModelFile(cached, 'download')
    } catch (error) {
      log.error({ err: error }, 'pretrained model download failed; falling back to the untrained offline graph')
    }
  }

  return await untrainedResnet18(config, log)
}

/** The source files the untrained graph is built by: a change to any of them makes a new cache entry. */
const GENERATOR_SOURCES = [
  new URL('./resnet18-graph.ts', import.meta.url),
  new URL('./onnx/onnx-graph.ts', import.meta.url),
  new URL('./onnx/onnx-subset.proto', import.meta.url),
  new URL('../../../common/random.ts', import.meta.url),
]

/**
 * The untrained ResNet18, built once and kept in the model cache: building it (11.7 M seeded weights, encoded
 * as ONNX) costs about a second of CPU, which a replica starting at a fraction of a core should not pay again.
 * The file is named by the seed and the generator's source, so a changed generator is never served from an
 * old file; a cache that cannot be written only costs the build on every start.
 */
async function untrainedResnet18(config: ProvisionConfig, log: Logger): Promise<ProvisionedModel> {
  const generator = createHash('sha256')
  for (const source of GENERATOR_SOURCES) generator.update(readFileSync(source))
  const cached = join(
    config.modelCacheDir,
    `${UNTRAINED_MODEL_VERSION_PREFIX}${config.modelSeed}-${generator.digest('hex').slice(0, 16)}.onnx`,
  )
  const info = (bytes: Uint8Array, path?: string, sha256 = sha256Of(bytes)): ModelInfo => ({
    name: 'resnet18',
    version: `${UNTRAINED_MODEL_VERSION_PREFIX}${config.modelSeed}`,
    pretrained: false,
    source: 'generated',
    sha256,
    ...(path && { path }),
  })
  log.warn({ seed: config.modelSeed }, UNTRAINED_WARNING)
  // Its checksum, size and mtime are kept beside it when it is written (by a rename, so never half a file): a file
  // still of that size and mtime is the one written, and hashing 45 MB on every start is CPU a pod booting at a
  // fraction of a core does not have. Any other file is hashed and, if it differs, built again.
  const checksum = `${cached}.json`
  if (existsSync(cached) && existsSync(checksum)) {
    try {
      const recorded = JSON.parse(await readFile(checksum, 'utf8')) as { sha256: string; size: number; mtimeMs: number }
      const stats = await stat(cached)
      const bytes = new Uint8Array(await readFile(cached))
      const unchanged = stats.size === recorded.size && stats.mtimeMs === recorded.mtimeMs
      if (unchanged || sha256Of(bytes) === recorded.sha256) return { bytes, info: info(bytes, cached, recorded.sha256) }
    } catch {
      // An unreadable record: built again below.
    }
    log.warn({ path: cached }, 'cached untrained model is unusable; building it again')
  }
  const { buildUntrainedResnet18 } = await import('./resnet18-graph.ts')
  const generated = buildUntrainedResnet18(config.modelSeed)
  const sha256 = sha256Of(generated.bytes)
  const partial = `${cached}.${process.pid}.partial`
  try {
    await mkdir(config.modelCacheDir, { recursive: true })
    await writeFile(partial, generated.bytes)
    await rename(partial, cached)
    const { size, mtimeMs } = await stat(cached)
    await writeFile(partial, JSON.stringify({ sha256, size, mtimeMs }))
    await rename(partial, checksum)
  } catch (error) {
    await rm(partial, { force: true })
    log.warn(
      { err: error, path: cached },
      'could not keep the untrained model in the cache; it is built on every start',
    )
    return { bytes: generated.bytes, info: info(generated.bytes, undefined, sha256) }
  }
  return { bytes: generated.bytes, info: info(generated.bytes, cached, sha256) }
}

async function loadModelFile(path: string, source: 'path' | 'download'): Promise<ProvisionedModel> {
  const bytes = new Uint8Array(await readFile(path))
  return describeModelFile(bytes, sha256Of(bytes), path, source)
}

async function describeModelFile(
  bytes: Uint8Array,
  sha256: string,
  path: string,
  source: ModelInfo['source'],
): Promise<ProvisionedModel> {
  let metadata: Record<string, string>
  // Loaded when needed: the ONNX encoder (protobufjs) costs a replica's start-up a noticeable share otherwise.
  const { readOnnxMetadata } = await import('./onnx/onnx-graph.ts')
  try {
    metadata = readOnnxMetadata(bytes)
  } catch (error) {
    throw new Error(`${path} is not an ONNX model (${(error as Error).message})`)
  }
  const isZooModel = sha256 === PRETRAINED_RESNET18.sha256
  // A file we generated says so in its metadata; any other file is the user's own trained model.
  const pretrained = metadata['switchyard.pretrained'] !== 'false'
  const version = isZooModel
    ? PRETRAINED_RESNET18.version
    : metadata['switchyard.seed'] !== undefined
      ? `${UNTRAINED_MODEL_VERSION_PREFIX}${metadata['switchyard.seed']}`
      : `${basename(path)}@${sha256.slice(0, 12)}`
  return { bytes, info: { name: 'resnet18', version, pretrained, source, sha256, path } }
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
