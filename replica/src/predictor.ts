import { type BatchResult, MicroBatcher } from './batcher.ts'
import { DroppedWork } from './dropped-work.ts'
import { requireAcceptedImage } from './image-format.ts'
import { FloatBuffers } from './model/float-buffers.ts'
import type { ModelInfo } from './model/provision.ts'
import { topKSoftmax } from './postprocess.ts'
import { imageToTensor, type PreprocessSpec } from './preprocess.ts'
import type { PreprocessSlots } from './preprocess-slots.ts'

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
  /** Limits the images decoded at once; one for the whole process (libvips' threads are the process's). */
  preprocessSlots: PreprocessSlots
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
  readonly preprocessSlots: PreprocessSlots

  constructor(options: PredictorOptions) {
    this.#options = options
    this.model = options.model
    this.preprocessSlots = options.preprocessSlots
    this.batcher = new MicroBatcher({
      maxBatchSize: options.maxBatchSize,
      maxWaitMs: options.maxBatchWaitMs,
      runBatch: (inputs) => options.inference.run(inputs),
    })
  }

  /**
   * `deadline` is on the performance.now() clock; `signal` aborts when the client goes away. A request nobody waits
   * for any more is dropped (DroppedWork) before its image is decoded and again before inference.
   */
  async predict(image: Uint8Array, deadline: number, signal?: AbortSignal): Promise<Prediction> {
    requireAcceptedImage(image)
    const started = performance.now()
    const release = await this.preprocessSlots.acquire(deadline, signal)
    let tensor: Float32Array<ArrayBuffer>
    try {
      tensor = await imageToTensor(image, this.#options.preprocess, (length) => this.#tensors.take(length))
    } finally {
      release()
    }
    const preprocessed = performance.now()
    let result: BatchResult<Float32Array>
    try {
      if (preprocessed >= deadline) throw new DroppedWork('deadline_exceeded', 'inference')
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
