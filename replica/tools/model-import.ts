/**
 * `npm run model:import`: converts a TF.js layers model into ONNX plus a manifest a replica can serve. Replicas
 * convert TF.js folders themselves on first start; this tool is for converting ahead of time, with other options.
 */
import { configFromCommandLine } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, parseConfig } from '../../common/config.ts'
import { importTfjsModel } from '../src/model/importer/import-tfjs.ts'
import { importSpec, modelImportSummary } from './model-import-config.ts'

function readImportConfig(source: ConfigSource) {
  const config = parseConfig(importSpec, source)
  if (config.model === undefined)
    throw new ConfigError('model', 'Which model? npm run model:import -- <model.json> --out <dir>')
  if (config.out === undefined) throw new ConfigError('out', '--out <dir> is required: where to write the model')
  if (config.resize === 'shorter-side-crop' && config.resizeShorterTo === undefined) {
    throw new ConfigError('resizeShorterTo', '--resize shorter-side-crop needs --resize-shorter-to N')
  }
  return { ...config, model: config.model, out: config.out }
}

const config = configFromCommandLine('model:import', importSpec, readImportConfig, modelImportSummary)

const started = performance.now()
try {
  const imported = await importTfjsModel(config.model, config.out, {
    ...(config.name && { name: config.name }),
    ...(config.labels && { labelsPath: config.labels }),
    preprocess: {
      resize: config.resize,
      ...(config.resize === 'shorter-side-crop' && { resizeShorterTo: config.resizeShorterTo }),
      scale: config.scale,
      mean: config.mean,
      std: config.std,
    },
    pretrained: !config.untrained,
    transform: {
      ...(config.weightBits !== undefined && { bits: config.weightBits }),
      ...(config.prune !== undefined && { prune: config.prune }),
    },
    ...(config.version && { version: config.version }),
  })
  const { manifest } = imported
  console.log(
    `${manifest.name} ${manifest.version}: ${imported.parameterCount.toLocaleString('en')} parameters after folding BatchNorm ` +
      `(${imported.kerasParameterCount.toLocaleString('en')} in Keras), input ${manifest.input.layout} ${manifest.input.size}×${manifest.input.size}, ` +
      `converted in ${Math.round(performance.now() - started)} ms\n→ ${imported.manifestPath}`,
  )
} catch (error) {
  // The model's own faults (an unknown layer, a missing shard) are one line naming them, not a stack trace.
  console.error(`model:import failed: ${(error as Error).message}`)
  process.exit(1)
}
