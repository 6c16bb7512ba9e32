import pino from 'pino'
import { configFromCommandLine } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, MissingDataError, parseConfig } from '../../common/config.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { makeInt8Version } from '../src/model/quantize/make-int8-version.ts'
import { QUANTIZE_USAGE, quantizeSpec } from './model-quantize-config.ts'

function readQuantizeConfig(source: ConfigSource) {
  const config = parseConfig(quantizeSpec, source)
  if (config.model === undefined) throw new ConfigError('model', `--model is required\n\n${QUANTIZE_USAGE}`)
  if (config.version === undefined) {
    throw new ConfigError('version', `--version is required (npm run models -- list shows them)\n\n${QUANTIZE_USAGE}`)
  }
  return {
    ...config,
    model: config.model,
    version: config.version,
    outVersion: config.outVersion ?? `${config.version}-int8`,
  }
}

const config = configFromCommandLine('model:quantize', quantizeSpec, readQuantizeConfig, QUANTIZE_USAGE)
const log = pino({ level: 'warn', base: { service: 'model:quantize' } }, pino.destination(2))
let shown = -1
try {
  const made = await makeInt8Version(
    {
      model: config.model,
      version: config.version,
      outVersion: config.outVersion,
      datasetsDir: config.datasetsDir,
      dataset: config.calibrationDataset,
      images: config.calibrationImages,
      method: config.calibrationMethod,
      percentile: config.percentile,
      form: config.form,
      registry: config,
      registryFile: config.modelRegistryFile,
      onImage: (done, total, pass) => {
        const step = Math.floor((done / total) * 4)
        if (step === shown && done !== total) return
        shown = step
        console.error(`calibration pass ${pass}: ${done}/${total} images`)
      },
    },
    log,
  )
  const { summary } = made.result
  const kb = (made.result.bytes.byteLength / 1024).toFixed(0)
  console.log(
    `${config.model} ${config.outVersion}: int8 (${config.form}) from ${config.version}; ${summary.quantizedOps} Conv/Gemm/MatMul ` +
      `quantised, ${summary.quantizedTensors} activations calibrated (${config.calibrationMethod}, ` +
      `${made.manifest.quantization!.calibration.images} images of ${config.calibrationDataset}), ` +
      `${summary.batchNormsFolded} BatchNorm folded, ${kb} KiB, in ${made.calibrationSeconds.toFixed(1)} s`,
  )
  for (const note of summary.leftInFloat) console.log(`  left in float: ${note}`)
  console.log(made.registered.join('\n'))
} catch (error) {
  // The user's mistakes and missing data are one line, not a stack trace.
  if (error instanceof MissingDataError) console.error(error.message)
  else if (error instanceof RegistryError) console.error(`model:quantize: ${error.message} (${error.code})`)
  else throw error
  process.exit(1)
}
