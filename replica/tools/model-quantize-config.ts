/** The settings of `npm run model:quantize` (and its --help summary), importable without running the command. */
import { fileURLToPath } from 'node:url'
import { parse, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { modelSourceSettings } from '../src/config.ts'
import { CALIBRATION_METHODS, type CalibrationMethod } from '../src/model/quantize/calibration-ranges.ts'
import { QUANTIZED_FORMS, type QuantizedForm } from '../src/model/quantize/quantize-model.ts'

const DEFAULT_DATASETS_DIR = fileURLToPath(new URL('../../../shared/images', import.meta.url))

export const quantizeSpec = {
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

export const QUANTIZE_USAGE =
  'npm run model:quantize -- --model NAME --version V [--calibration-dataset imagenet-sample --calibration-images N]\n' +
  'writes MODELS_DIR/NAME/V-int8/: the fp32 version V with int8 weights (symmetric, one scale per output channel) and\n' +
  'uint8 activations calibrated on N images, in the QDQ form ONNX Runtime runs on its integer kernels; registered as\n' +
  'staging (judge it with `npm run gate`, then `npm run models -- promote`).'
