/**
 * `npm run model:quantize -- --model NAME --version V`: post-training static quantisation of a served fp32 version into
 * an int8 one (int8 per-channel weights, uint8 activations calibrated on real images), registered as staging.
 */
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { configFromCommandLine } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, MissingDataError, parse, parseConfig, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { RegistryError } from '../../common/model-registry/transitions.ts'
import { modelSourceSettings } from '../src/config.ts'
import { CALIBRATION_METHODS, type CalibrationMethod } from '../src/model/quantize/calibration-ranges.ts'
import { makeInt8Version } from '../src/model/quantize/make-int8-version.ts'
import { QUANTIZED_FORMS, type QuantizedForm } from '../src/model/quantize/quantize-model.ts'

const DEFAULT_DATASETS_DIR = fileURLToPath(new URL('../../../shared/images', import.meta.url))

const quantizeSpec = {
  model: setting<string | undefined>({
    env: 'QUANTIZE_MODEL',
    flag: 'model',
    description: 'The model NAME (resnet18, or a folder of MODELS_DIR)',
    parse: parse.string(),
    default: undefined,
  }),
  version: setting<string | undefined>({
    env: 'QUANTIZE_VERSION',
    flag: 'version',
    description: 'The fp32 VERSION to quantise (`npm run models -- list` shows them)',
    parse: parse.string(),
    default: undefined,
  }),
  outVersion: setting<string | undefined>({
    env: 'QUANTIZE_OUT_VERSION',
    flag: 'out-version',
    description: "The new version's name (default: VERSION-int8)",
    parse: parse.string(),
    default: undefined,
  }),
  calibrationDataset: setting({
    env: 'QUANTIZE_CALIBRATION_DATASET',
    flag: 'calibration-dataset',
    description: 'The folder of DATASETS_DIR whose images calibrate the activation ranges',
    parse: parse.string(),
    default: 'imagenet-sample',
  }),
  calibrationImages: setting({
    env: 'QUANTIZE_CALIBRATION_IMAGES',
    flag: 'calibration-images',
    description: 'How many of its images, spread evenly over it',
    parse: parse.integer({ min: 1, max: 100_000 }),
    default: 100,
  }),
  calibrationMethod: setting({
    env: 'QUANTIZE_CALIBRATION_METHOD',
    flag: 'calibration-method',
    description: `How a range is chosen from the values seen: ${CALIBRATION_METHODS.join(', ')} (see README, Models: int8)`,
    parse: parse.oneOf(CALIBRATION_METHODS),
    default: 'mse' as CalibrationMethod,
  }),
  percentile: setting({
    env: 'QUANTIZE_PERCENTILE',
    flag: 'percentile',
    description: 'With --calibration-method percentile: the share of values kept on each side',
    parse: parse.number({ above: 0.5, max: 1 }),
    default: 0.9999,
  }),
  form: setting({
    env: 'QUANTIZE_FORM',
    flag: 'form',
    description:
      'qdq (QuantizeLinear/DequantizeLinear pairs ONNX Runtime fuses) or qlinear (QLinearConv/QLinearMatMul)',
    parse: parse.oneOf(QUANTIZED_FORMS),
    default: 'qdq' as QuantizedForm,
  }),
  datasetsDir: setting({
    env: 'DATASETS_DIR',
    flag: 'datasets-dir',
    description: 'Folder of datasets, one sub-folder of images each',
    parse: parse.string(),
    default: DEFAULT_DATASETS_DIR,
  }),
  ...modelSourceSettings,
  modelRegistryFile: registryFileSetting(),
}

function readQuantizeConfig(source: ConfigSource) {
  const config = parseConfig(quantizeSpec, source)
  if (config.model === undefined) throw new ConfigError('model', `--model is required\n\n${USAGE}`)
  if (config.version === undefined) {
    throw new ConfigError('version', `--version is required (npm run models -- list shows them)\n\n${USAGE}`)
  }
  return {
    ...config,
    model: config.model,
    version: config.version,
    outVersion: config.outVersion ?? `${config.version}-int8`,
  }
}

const USAGE =
  'npm run model:quantize -- --model NAME --version V [--calibration-dataset imagenet-sample --calibration-images N]\n' +
  'writes MODELS_DIR/NAME/V-int8/: the fp32 version V with int8 weights (symmetric, one scale per output channel) and\n' +
  'uint8 activations calibrated on N images, in the QDQ form ONNX Runtime runs on its integer kernels; registered as\n' +
  'staging (judge it with `npm run gate`, then `npm run models -- promote`).'

const config = configFromCommandLine('model:quantize', quantizeSpec, readQuantizeConfig, USAGE)
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
