import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

/** How pixels become the network input; see `imageToTensor`. */
export interface ModelPreprocess {
  /** `shorter-side-crop`: shorter side to `resizeShorterTo`, centre crop (torchvision). `stretch`: straight to size. */
  resize: 'shorter-side-crop' | 'stretch'
  resizeShorterTo?: number
  /** Each 0–255 byte v becomes (v · scale − mean[c]) / std[c]. */
  scale: number
  mean: [number, number, number]
  std: [number, number, number]
}

/** A model a replica can serve, as written beside its ONNX file (`<name>.manifest.json`). */
export interface ModelManifest {
  name: string
  version: string
  format: 'onnx'
  /** The ONNX file, relative to the manifest. */
  file: string
  input: { layout: 'NCHW' | 'NHWC'; size: number }
  preprocess: ModelPreprocess
  /** A JSON array of class names, relative to the manifest. */
  labels: string
  /** `model`: the i-th name is the model's i-th output. */
  labelOrder: 'model'
  pretrained: boolean
  /** sha256 of the ONNX file. */
  sha256: string
  /** What the model was converted from, when it was. */
  source?: { format: string; path: string; sha256: string }
  /** The arithmetic its weights and activations use; fp32 when absent. */
  precision?: ModelPrecision
  /** For a quantised version: how it was made from which version (see `npm run model:quantize`). */
  quantization?: QuantizationRecord
}

export const MODEL_PRECISIONS = ['fp32', 'int8'] as const
export type ModelPrecision = (typeof MODEL_PRECISIONS)[number]

export interface QuantizationRecord {
  /** The version it was quantised from. */
  sourceVersion: string
  /** `qdq` (QuantizeLinear/DequantizeLinear pairs) or `qlinear` (QLinearConv/QLinearMatMul operators). */
  form: string
  weights: string
  activations: string
  calibration: { method: string; percentile?: number; dataset: string; images: number }
}

export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/

export class ManifestError extends Error {
  override name = 'ManifestError'
}

/** Reads and checks a manifest; every problem names the manifest and the field. */
export async function readManifest(path: string): Promise<ModelManifest & { directory: string }> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new ManifestError(`cannot read model manifest ${path}: ${(error as Error).message}`)
  }
  return { ...validateManifest(json, path), directory: dirname(resolve(path)) }
}

export function validateManifest(json: unknown, where: string): ModelManifest {
  const fail = (field: string, wanted: string): never => {
    throw new ManifestError(`${where}: ${field} must be ${wanted}`)
  }
  if (typeof json !== 'object' || json === null) fail('the manifest', 'a JSON object')
  const m = json as Record<string, unknown>
  const string = (value: unknown, field: string) =>
    typeof value === 'string' && value !== '' ? value : fail(field, 'a string')
  const number = (value: unknown, field: string) =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fail(field, 'a positive number')
  const triple = (value: unknown, field: string) =>
    Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number' && Number.isFinite(v))
      ? (value as [number, number, number])
      : fail(field, 'three numbers')
  const name = string(m.name, 'name')
  if (!MODEL_NAME_PATTERN.test(name)) fail('name', `lower-case letters, digits, '.', '_' or '-' (got ${name})`)
  if (m.format !== 'onnx') fail('format', '"onnx"')
  const input = (m.input ?? {}) as Record<string, unknown>
  if (input.layout !== 'NCHW' && input.layout !== 'NHWC') fail('input.layout', '"NCHW" or "NHWC"')
  const preprocess = (m.preprocess ?? {}) as Record<string, unknown>
  if (preprocess.resize !== 'shorter-side-crop' && preprocess.resize !== 'stretch') {
    fail('preprocess.resize', '"shorter-side-crop" or "stretch"')
  }
  const size = number(input.size, 'input.size')
  const std = triple(preprocess.std, 'preprocess.std')
  if (std.some((s) => s === 0)) fail('preprocess.std', 'non-zero')
  if (m.labelOrder !== 'model') fail('labelOrder', '"model"')
  if (typeof m.pretrained !== 'boolean') fail('pretrained', 'true or false')
  return {
    name,
    version: string(m.version, 'version'),
    format: 'onnx',
    file: string(m.file, 'file'),
    input: { layout: input.layout as 'NCHW' | 'NHWC', size },
    preprocess: {
      resize: preprocess.resize as ModelPreprocess['resize'],
      ...(preprocess.resize === 'shorter-side-crop' && {
        resizeShorterTo: number(preprocess.resizeShorterTo, 'preprocess.resizeShorterTo'),
      }),
      scale: number(preprocess.scale, 'preprocess.scale'),
      mean: triple(preprocess.mean, 'preprocess.mean'),
      std,
    },
    labels: string(m.labels, 'labels'),
    labelOrder: 'model',
    pretrained: m.pretrained as boolean,
    sha256: string(m.sha256, 'sha256'),
    ...(m.source !== undefined && { source: m.source as ModelManifest['source'] }),
    ...(m.precision !== undefined && {
      precision: MODEL_PRECISIONS.includes(m.precision as ModelPrecision)
        ? (m.precision as ModelPrecision)
        : fail('precision', MODEL_PRECISIONS.map((p) => `"${p}"`).join(' or ')),
    }),
    ...(m.quantization !== undefined && { quantization: quantizationOf(m.quantization, fail) }),
  }
}

function quantizationOf(value: unknown, fail: (field: string, wanted: string) => never): QuantizationRecord {
  const q = (typeof value === 'object' && value !== null ? value : fail('quantization', 'an object')) as Record<
    string,
    unknown
  >
  const calibration = (q.calibration ?? {}) as Record<string, unknown>
  const text = (v: unknown, field: string) => (typeof v === 'string' && v !== '' ? v : fail(field, 'a string'))
  const images = calibration.images
  if (typeof images !== 'number' || !Number.isInteger(images) || images < 1) {
    fail('quantization.calibration.images', 'a positive integer')
  }
  return {
    sourceVersion: text(q.sourceVersion, 'quantization.sourceVersion'),
    form: text(q.form, 'quantization.form'),
    weights: text(q.weights, 'quantization.weights'),
    activations: text(q.activations, 'quantization.activations'),
    calibration: {
      method: text(calibration.method, 'quantization.calibration.method'),
      ...(typeof calibration.percentile === 'number' && { percentile: calibration.percentile }),
      dataset: text(calibration.dataset, 'quantization.calibration.dataset'),
      images: images as number,
    },
  }
}

/** Class names from a labels file: a JSON array of strings. */
export async function readLabels(path: string): Promise<string[]> {
  let labels: unknown
  try {
    labels = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new ManifestError(`cannot read labels ${path}: ${(error as Error).message}`)
  }
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
    throw new ManifestError(`${path} must be a JSON array of class names`)
  }
  return labels
}
