import { decodeOnnxModel, encodeOnnxModel } from '../onnx/onnx-model.ts'
import { type CalibratedTensor, type CalibrationOptions, calibrate } from './calibrate.ts'
import { foldConvBatchNorm } from './fold-conv-batch-norm.ts'
import { insertQdq, type QuantizedGraphSummary } from './qdq-graph.ts'
import { fuseQLinear } from './qlinear-fusion.ts'
import type { ActivationParams } from './quant-math.ts'

/**
 * The form of the int8 graph. `qdq`: QuantizeLinear/DequantizeLinear around float ops, which ONNX Runtime's optimiser
 * turns into its integer kernels; `qlinear`: Conv and MatMul written as QLinearConv / QLinearMatMul, the rest QDQ.
 */
export const QUANTIZED_FORMS = ['qdq', 'qlinear'] as const
export type QuantizedForm = (typeof QUANTIZED_FORMS)[number]

export interface QuantizeResult {
  bytes: Uint8Array
  summary: QuantizedGraphSummary & { batchNormsFolded: number; qlinearFused: number }
  calibration: Map<string, CalibratedTensor>
}

/** Post-training static quantisation of an fp32 ONNX model: BatchNorm folded, calibrated, rewritten to int8. */
export async function quantizeModel(
  fp32: Uint8Array,
  options: CalibrationOptions & { form: QuantizedForm },
): Promise<QuantizeResult> {
  const folded = decodeOnnxModel(fp32)
  const batchNormsFolded = foldConvBatchNorm(folded.graph)
  const foldedBytes = batchNormsFolded > 0 ? encodeOnnxModel(folded) : fp32
  const calibration = await calibrate(foldedBytes, options)
  // The rewrite folds the same BatchNorms again itself (deterministic), so it counts them too.
  return { ...quantizeCalibrated(fp32, calibration, options.form), calibration }
}

/** The graph rewrite alone, from ranges already calibrated on `fp32` (the same graph, BatchNorm folded). */
export function quantizeCalibrated(
  fp32: Uint8Array,
  calibration: ReadonlyMap<string, CalibratedTensor>,
  form: QuantizedForm,
): Omit<QuantizeResult, 'calibration'> {
  const model = decodeOnnxModel(fp32)
  const batchNormsFolded = foldConvBatchNorm(model.graph)
  const params = new Map<string, ActivationParams>([...calibration].map(([name, c]) => [name, c.params]))
  const summary = insertQdq(model, params)
  const qlinearFused = form === 'qlinear' ? fuseQLinear(model) : 0
  model.producerName = 'switchyard-quantizer'
  model.producerVersion = '1'
  return { bytes: encodeOnnxModel(model), summary: { ...summary, batchNormsFolded, qlinearFused } }
}
