import { ServiceError } from '../../common/errors.ts'
import { type BatchResult, MicroBatcher } from './batcher.ts'
import { FloatBuffers } from './model/float-buffers.ts'
import type { ModelInfo } from './model/provision.ts'
import { topKSoftmax } from './postprocess.ts'
import { imageToTensor, type PreprocessSpec } from './preprocess.ts'

export interface Inference {
  run(inputs: Float32Array[]): Promise<Float32Array[]>
}

export interface PredictorOptions {
  inference: Inference
  /** Class names in the model's output order. */
  labels: readonly string[]
  model: ModelInfo
  preprocess: PreprocessSpec
  maxBatchSize: number
  maxBatchWaitMs: number
}

export interface Prediction {
  top5: { label: string; class_index: number; confidence: number }[]
  timing: { preprocess: number; queue: number; inference: number }
  batchSize: number
}

/** Image bytes → top-5 classes: preprocessing (sharp, off the main thread) overlaps the running batch. */
export class Predictor {
  readonly batcher: MicroBatcher<Float32Array, Float32Array>
  readonly #options: PredictorOptions
  readonly model: ModelInfo
  /** Mean inference time per image (EWMA), for Retry-After estimates. */
  msPerImage = 25
  /** Image tensors: each request's is given back once its batch has copied it (or it never ran). */
  readonly #tensors = new FloatBuffers()

  constructor(options: PredictorOptions) {
    this.#options = options
    this.model = options.model
    this.batcher = new MicroBatcher({
      maxBatchSize: options.maxBatchSize,
      maxWaitMs: options.maxBatchWaitMs,
      runBatch: (inputs) => options.inference.run(inputs),
    })
  }

  /** `deadline` is on the performance.now() clock; `signal` aborts when the client goes away. */
  async predict(image: Uint8Array, deadline: number, signal?: AbortSignal): Promise<Prediction> {
    const started = performance.now()
    const tensor = await imageToTensor(image, this.#options.preprocess, (length) => this.#tensors.take(length))
    const preprocessed = performance.now()
    let result: BatchResult<Float32Array>
    try {
      if (preprocessed >= deadline) {
        throw new ServiceError('deadline_exceeded', 'the request deadline passed during preprocessing')
      }
      // Settled means done with the tensor: a batch copies its inputs when it starts, and one that never started
      // never will.
      result = await this.batcher.submit(tensor, deadline, signal)
    } finally {
      this.#tensors.give(tensor)
    }
    this.msPerImage = 0.8 * this.msPerImage + 0.2 * (result.inferenceMs / result.batchSize)
    const top5 = topKSoftmax(result.output, 5).map((score) => ({
      label: this.#options.labels[score.class_index] ?? `class ${score.class_index}`,
      ...score,
    }))
    return {
      top5,
      timing: { preprocess: preprocessed - started, queue: result.queueMs, inference: result.inferenceMs },
      batchSize: result.batchSize,
    }
  }
}
