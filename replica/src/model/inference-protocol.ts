/** Messages between the replica's main thread and its inference worker. */
export type WorkerRequest =
  | {
      type: 'load'
      model: ArrayBuffer
      intraOpThreads: number
      /**
       * Where this model's graph, optimised by ONNX Runtime, is kept (a cache folder and the model's sha256):
       * loaded from there with optimisation off when it exists, else optimised now and saved there for the next
       * start. Undefined: optimise on every start.
       */
      optimizedCache?: { dir: string; modelSha256: string }
    }
  | { type: 'run'; id: number; data: ArrayBuffer; shape: number[] }

export type WorkerReply =
  | {
      type: 'loaded'
      inputName: string
      inputShape: (number | string)[]
      outputName: string
      outputShape: (number | string)[]
      /** When the thread had started and loaded onnxruntime-node, epoch ms (performance.timeOrigin + now()). */
      runtimeLoadedAt: number
      /** InferenceSession.create, ms. */
      sessionMs: number
      optimizedCache: 'hit' | 'miss' | 'off'
    }
  /** `input` is the request's batch buffer, handed back for the next batch. */
  | { type: 'result'; id: number; logits: ArrayBuffer; dims: number[]; input: ArrayBuffer }
  | { type: 'error'; id: number; message: string }
