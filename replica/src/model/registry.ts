import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { loadImagenetClasses } from '../labels.ts'
import { IMAGENET_PREPROCESS, type PreprocessSpec } from '../preprocess.ts'
import { type ModelManifest, type ModelPrecision, readLabels, readManifest } from './manifest.ts'
import { manifestsIn, modelFolders } from './model-folders.ts'
import { type ModelInfo, type ProvisionConfig, provisionResnet18 } from './provision.ts'

/** Everything needed to serve one model: its ONNX bytes, class names in output order and its preprocessing. */
export interface ModelDefinition {
  info: ModelInfo
  bytes: Uint8Array
  labels: readonly string[]
  preprocess: Omit<PreprocessSpec, 'maxInputPixels'>
  /** What its manifest says (fp32 without one). */
  precision: ModelPrecision
}

export interface RegistryConfig extends ProvisionConfig {
  /** Each sub-folder is a model, one version itself and/or one sub-folder per version (see model-folders.ts); `undefined` = none. */
  modelsDir: string | undefined
}

export const DEFAULT_MODEL = 'resnet18'

/**
 * ResNet18 first (the default model), then every model version found in `modelsDir`, by folder name. `onLoaded`
 * hears of each as soon as it is known (ResNet18 before the folder is searched), so its session can be started
 * while the others load.
 */
export async function loadModelDefinitions(
  config: RegistryConfig,
  log: Logger,
  onLoaded?: (definition: ModelDefinition) => void,
): Promise<ModelDefinition[]> {
  const resnet18 = await provisionResnet18(config, log)
  const definitions: ModelDefinition[] = [
    {
      info: resnet18.info,
      bytes: resnet18.bytes,
      labels: loadImagenetClasses().map((c) => c.label),
      preprocess: IMAGENET_PREPROCESS,
      precision: 'fp32',
    },
  ]
  onLoaded?.(definitions[0]!)
  for (const definition of await discoverModels(config, log)) {
    if (definitions.some((d) => d.info.name === definition.info.name && d.info.version === definition.info.version)) {
      log.error(
        { model: definition.info.name, version: definition.info.version, path: definition.info.path },
        'two models have the same name and version; ignoring the second',
      )
      continue
    }
    definitions.push(definition)
    onLoaded?.(definition)
  }
  return definitions
}

/** Every model version in `modelsDir` (ResNet18 aside). */
export async function discoverModels(config: RegistryConfig, log: Logger): Promise<ModelDefinition[]> {
  const { modelsDir } = config
  if (!modelsDir) return []
  if (!existsSync(modelsDir)) {
    log.info({ models_dir: modelsDir }, 'models folder not found; serving ResNet18 only')
    return []
  }
  const found: ModelDefinition[] = []
  for (const { directory, folder, version } of await modelFolders(modelsDir)) {
    await loadVersionFolder(directory, folder, version, config, log, found)
  }
  return found
}

/**
 * The model in one folder, if it holds one: `*.manifest.json` files, or a TF.js `model.json`. In
 * `MODELS_DIR/<name>/<version>/` the folder names are the name and version; a model folder itself keeps its
 * manifest's (or, converted, `tfjs-<sha>`) version.
 */
async function loadVersionFolder(
  directory: string,
  folder: string,
  version: string | undefined,
  config: RegistryConfig,
  log: Logger,
  found: ModelDefinition[],
): Promise<void> {
  try {
    const manifests = await manifestsIn(directory)
    const definitions: ModelDefinition[] = []
    if (manifests.length > 0) {
      for (const file of manifests) definitions.push(await definitionFromManifest(join(directory, file), 'manifest'))
    } else if (existsSync(join(directory, 'model.json'))) {
      const cacheKey = version === undefined ? folder : `${folder}@${version}`
      definitions.push(await convertedTfjsModel(directory, folder, cacheKey, config.modelCacheDir, log))
    }
    for (const definition of definitions) {
      if (version !== undefined) {
        if (definition.info.name !== folder || definition.info.version !== version) {
          log.debug(
            { path: directory, manifest: `${definition.info.name} ${definition.info.version}` },
            'the folder names the model and version',
          )
        }
        definition.info = { ...definition.info, name: folder, version }
      }
      found.push(definition)
    }
  } catch (error) {
    // One broken model must not take the others down with it; the log says which and why.
    log.error({ err: error, path: directory }, `model in ${directory} could not be loaded; not serving it`)
  }
}

/** Converts a TF.js model once; later starts reuse the cached ONNX while model.json is unchanged. */
async function convertedTfjsModel(
  directory: string,
  name: string,
  cacheKey: string,
  cacheDir: string,
  log: Logger,
): Promise<ModelDefinition> {
  const modelJson = join(directory, 'model.json')
  const sourceSha256 = sha256Of(await readFile(modelJson))
  const outDir = join(cacheDir, 'converted', cacheKey)
  const manifestPath = join(outDir, `${name}.manifest.json`)
  if (existsSync(manifestPath)) {
    try {
      const cached = await definitionFromManifest(manifestPath, 'converted')
      if (cached.sourceSha256 === sourceSha256) return cached.definition
    } catch (error) {
      log.warn({ err: error, path: manifestPath }, 'cached converted model is unusable; converting again')
    }
  }
  const started = performance.now()
  // Loaded when needed: most starts find the converted model in the cache.
  const { importTfjsModel } = await import('./importer/import-tfjs.ts')
  const imported = await importTfjsModel(modelJson, outDir, { name })
  log.info(
    {
      model: name,
      path: imported.manifestPath,
      parameters: imported.parameterCount,
      ms: Math.round(performance.now() - started),
    },
    'converted TF.js model to ONNX',
  )
  return (await definitionFromManifest(imported.manifestPath, 'converted')).definition
}

async function definitionFromManifest(path: string, source: 'manifest'): Promise<ModelDefinition>
async function definitionFromManifest(
  path: string,
  source: 'converted',
): Promise<{ definition: ModelDefinition; sourceSha256: string | undefined }>
async function definitionFromManifest(path: string, source: 'manifest' | 'converted') {
  const manifest = await readManifest(path)
  const file = join(manifest.directory, manifest.file)
  const bytes = new Uint8Array(await readFile(file))
  const sha256 = sha256Of(bytes)
  if (sha256 !== manifest.sha256) throw new Error(`${file} has sha256 ${sha256}, its manifest says ${manifest.sha256}`)
  const labels = await readLabels(join(manifest.directory, manifest.labels))
  const definition: ModelDefinition = {
    info: {
      name: manifest.name,
      version: manifest.version,
      pretrained: manifest.pretrained,
      source,
      sha256,
      path: file,
    },
    bytes,
    labels,
    preprocess: preprocessOf(manifest),
    precision: manifest.precision ?? 'fp32',
  }
  return source === 'manifest' ? definition : { definition, sourceSha256: manifest.source?.sha256 }
}

function preprocessOf(manifest: ModelManifest): ModelDefinition['preprocess'] {
  const { resize, resizeShorterTo, scale, mean, std } = manifest.preprocess
  return {
    inputSize: manifest.input.size,
    layout: manifest.input.layout,
    resize,
    ...(resizeShorterTo !== undefined && { resizeShorterTo }),
    scale,
    mean,
    std,
  }
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
