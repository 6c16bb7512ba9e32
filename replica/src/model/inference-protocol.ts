/** Messages between the replica's main thread and its inference worker. */
export type WorkerRequest =
  | { type: 'load'; model: ArrayBuffer; intraOpThreads: number }
  | { type: 'run'; id: number; data: ArrayBuffer; shape: number[] }

export type WorkerReply =
  | {
      type: 'loaded'
      inputName: string
      inputShape: (number | string)[]
      outputName: string
      outputShape: (number | string)[]
    }
  /** `input` is the request's batch buffer, handed back for the next batch. */
  | { type: 'result'; id: number; logits: ArrayBuffer; dims: number[]; input: ArrayBuffer }
  | { type: 'error'; id: number; message: string }
