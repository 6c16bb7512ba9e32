/** The settings of `npm run model:import` (and its --help summary), importable without running the command. */
import { type Parser, parse, setting } from '../../common/config.ts'
import { STRETCH_TO_UNIT_RANGE } from '../src/model/importer/import-tfjs.ts'

function triple(): Parser<[number, number, number]> {
  return (raw) => {
    const values = raw.split(',').map((v) => (v.trim() === '' ? Number.NaN : Number(v)))
    if (values.length !== 3 || !values.every(Number.isFinite))
      throw new Error('expected three numbers, e.g. 0.5,0.5,0.5')
    return values as [number, number, number]
  }
}

export const modelImportSummary =
  'npm run model:import -- <model.json> --out <dir> [options]\n' +
  'converts a TF.js layers model (Conv2D, BatchNormalization, LeakyReLU, ReLU, MaxPooling2D, GlobalAveragePooling2D,\n' +
  'Flatten, Dense) into ONNX plus a manifest a replica can serve (put the folder in MODELS_DIR).\n' +
  'Preprocessing defaults to: stretch to the input size, pixels / 255, no mean/std.'

export const importSpec = {
  model: setting<string | undefined>({
    env: 'IMPORT_MODEL',
    flag: 'model',
    description: 'The TF.js model.json to convert (its weight shards beside it)',
    parse: parse.string(),
    default: undefined,
    positional: true,
  }),
  out: setting<string | undefined>({
    env: 'IMPORT_OUT',
    flag: 'out',
    description: 'Folder to write the ONNX file, labels and manifest to (put it in MODELS_DIR)',
    parse: parse.string(),
    default: undefined,
  }),
  name: setting<string | undefined>({
    env: 'IMPORT_NAME',
    flag: 'name',
    description: "Model name (default: model.json's folder name)",
    parse: parse.string(),
    default: undefined,
  }),
  labels: setting<string | undefined>({
    env: 'IMPORT_LABELS',
    flag: 'labels',
    description: 'Labels file, a JSON array in output order (default: labels.json beside model.json)',
    parse: parse.string(),
    default: undefined,
  }),
  resize: setting({
    env: 'IMPORT_RESIZE',
    flag: 'resize',
    description: 'stretch (straight to the input size) or shorter-side-crop (needs --resize-shorter-to)',
    parse: parse.oneOf(['stretch', 'shorter-side-crop']),
    default: STRETCH_TO_UNIT_RANGE.resize,
  }),
  resizeShorterTo: setting<number | undefined>({
    env: 'IMPORT_RESIZE_SHORTER_TO',
    flag: 'resize-shorter-to',
    description: 'With shorter-side-crop: the shorter side before the centre crop, in pixels',
    parse: parse.integer({ min: 1, max: 10_000 }),
    default: undefined,
  }),
  scale: setting({
    env: 'IMPORT_SCALE',
    flag: 'scale',
    description: 'Each byte v becomes (v·scale − mean)/std',
    parse: parse.number({ above: 0 }),
    default: STRETCH_TO_UNIT_RANGE.scale,
  }),
  mean: setting({
    env: 'IMPORT_MEAN',
    flag: 'mean',
    description: 'Per-channel mean, three numbers a,b,c',
    parse: triple(),
    default: STRETCH_TO_UNIT_RANGE.mean,
  }),
  std: setting({
    env: 'IMPORT_STD',
    flag: 'std',
    description: 'Per-channel standard deviation, three numbers a,b,c',
    parse: triple(),
    default: STRETCH_TO_UNIT_RANGE.std,
  }),
  version: setting<string | undefined>({
    env: 'IMPORT_VERSION',
    flag: 'version',
    description: "The version's name (default: tfjs- and model.json's sha256 prefix, plus -pruned/-int suffixes)",
    parse: parse.string(),
    default: undefined,
  }),
  weightBits: setting<number | undefined>({
    env: 'IMPORT_WEIGHT_BITS',
    flag: 'weight-bits',
    description: 'Round every Conv2D/Dense kernel to this many bits (symmetric, one scale per tensor), e.g. 8',
    parse: parse.integer({ min: 2, max: 16 }),
    default: undefined,
  }),
  prune: setting<number | undefined>({
    env: 'IMPORT_PRUNE',
    flag: 'prune',
    description: 'Set this share of every Conv2D/Dense kernel, the smallest weights, to zero, e.g. 0.5',
    parse: parse.number({ min: 0, max: 0.99 }),
    default: undefined,
  }),
  untrained: setting({
    env: 'IMPORT_UNTRAINED',
    flag: 'untrained',
    description: 'Mark the model untrained (its answers carry a warning)',
    parse: parse.boolean(),
    default: false,
  }),
}
