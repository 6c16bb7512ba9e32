import { parseArgs } from 'node:util'
import { importTfjsModel, STRETCH_TO_UNIT_RANGE } from './import-tfjs.ts'

const USAGE = `Usage: npm run model:import -- <model.json> --out <dir> [--name NAME] [--labels FILE]
         [--resize stretch|shorter-side-crop] [--resize-shorter-to N] [--scale S] [--mean a,b,c] [--std a,b,c] [--untrained]

Converts a TF.js layers model (Conv2D, BatchNormalization, LeakyReLU, ReLU, MaxPooling2D, GlobalAveragePooling2D,
Flatten, Dense) into ONNX plus a manifest a replica can serve (put the folder in MODELS_DIR).
Preprocessing defaults to: stretch to the input size, pixels / 255, no mean/std.`

function triple(text: string, flag: string): [number, number, number] {
  const values = text.split(',').map(Number)
  if (values.length !== 3 || !values.every(Number.isFinite))
    throw new Error(`--${flag} must be three numbers, e.g. 0.5,0.5,0.5`)
  return values as [number, number, number]
}

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      name: { type: 'string' },
      labels: { type: 'string' },
      resize: { type: 'string', default: STRETCH_TO_UNIT_RANGE.resize },
      'resize-shorter-to': { type: 'string' },
      scale: { type: 'string', default: String(STRETCH_TO_UNIT_RANGE.scale) },
      mean: { type: 'string', default: STRETCH_TO_UNIT_RANGE.mean.join(',') },
      std: { type: 'string', default: STRETCH_TO_UNIT_RANGE.std.join(',') },
      untrained: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const [modelJson] = positionals
  if (!modelJson || !values.out || positionals.length > 1) throw new Error(USAGE)
  if (values.resize !== 'stretch' && values.resize !== 'shorter-side-crop') {
    throw new Error('--resize must be stretch or shorter-side-crop')
  }
  const scale = Number(values.scale)
  if (!(scale > 0)) throw new Error('--scale must be a positive number')
  const shorter = values['resize-shorter-to'] === undefined ? undefined : Number(values['resize-shorter-to'])
  if (values.resize === 'shorter-side-crop' && !(shorter && Number.isInteger(shorter) && shorter > 0)) {
    throw new Error('--resize shorter-side-crop needs --resize-shorter-to N')
  }
  const started = performance.now()
  const imported = await importTfjsModel(modelJson, values.out, {
    ...(values.name && { name: values.name }),
    ...(values.labels && { labelsPath: values.labels }),
    preprocess: {
      resize: values.resize,
      ...(shorter && { resizeShorterTo: shorter }),
      scale,
      mean: triple(values.mean, 'mean'),
      std: triple(values.std, 'std'),
    },
    pretrained: !values.untrained,
  })
  const { manifest } = imported
  console.log(
    `${manifest.name} ${manifest.version}: ${imported.parameterCount.toLocaleString('en')} parameters after folding BatchNorm ` +
      `(${imported.kerasParameterCount.toLocaleString('en')} in Keras), input ${manifest.input.layout} ${manifest.input.size}×${manifest.input.size}, ` +
      `converted in ${Math.round(performance.now() - started)} ms\n→ ${imported.manifestPath}`,
  )
} catch (error) {
  console.error((error as Error).message)
  process.exit(2)
}
