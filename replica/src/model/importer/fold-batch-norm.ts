import type { BatchNormalizationLayer } from './keras-layers.ts'

/**
 * Folds an inference-mode BatchNormalization into the linear layer before it:
 * scale = gamma / sqrt(variance + epsilon), kernel' = kernel · scale, bias' = (bias − mean) · scale + beta.
 * Keras kernels keep output channels on their last axis ([kh, kw, in, out] for Conv2D, [in, out] for Dense),
 * so the channel of a kernel value is its index modulo the channel count, for both.
 */
export function foldBatchNorm(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  batchNorm: BatchNormalizationLayer,
): { kernel: Float32Array; bias: Float32Array } {
  const channels = batchNorm.gamma.length
  if (kernel.length % channels !== 0) throw new Error(`${batchNorm.name} has ${channels} channels, the kernel does not`)
  const scale = Float64Array.from(
    batchNorm.gamma,
    (gamma, c) => gamma / Math.sqrt(batchNorm.movingVariance[c]! + batchNorm.epsilon),
  )
  const foldedKernel = Float32Array.from(kernel, (value, i) => value * scale[i % channels]!)
  const foldedBias = Float32Array.from(
    scale,
    (s, c) => ((bias?.[c] ?? 0) - batchNorm.movingMean[c]!) * s + batchNorm.beta[c]!,
  )
  return { kernel: foldedKernel, bias: foldedBias }
}
