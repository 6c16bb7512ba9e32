import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Logger } from 'pino'
import { downloadVerified } from './download.ts'
import { readOnnxMetadata } from './onnx/onnx-graph.ts'
import { PRETRAINED_RESNET18 } from './pretrained.ts'
import { buildUntrainedResnet18, UNTRAINED_MODEL_VERSION_PREFIX } from './resnet18-graph.ts'

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

  const generated = buildUntrainedResnet18(config.modelSeed)
  log.warn({ seed: generated.seed, weights_sha256: generated.weightsSha256 }, UNTRAINED_WARNING)
  return {
    bytes: generated.bytes,
    info: {
      name: 'resnet18',
      version: `${UNTRAINED_MODEL_VERSION_PREFIX}${generated.seed}`,
      pretrained: false,
      source: 'generated',
      sha256: sha256Of(generated.bytes),
    },
  }
}

async function loadModelFile(path: string, source: 'path' | 'download'): Promise<ProvisionedModel> {
  const bytes = new Uint8Array(await readFile(path))
  return describeModelFile(bytes, sha256Of(bytes), path, source)
}

function describeModelFile(
  bytes: Uint8Array,
  sha256: string,
  path: string,
  source: ModelInfo['source'],
): ProvisionedModel {
  let metadata: Record<string, string>
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
