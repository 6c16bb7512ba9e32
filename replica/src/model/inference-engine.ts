import { EventEmitter } from 'node:events'
import { Worker } from 'node:worker_threads'
import { FloatBuffers } from './float-buffers.ts'
import type { WorkerReply, WorkerRequest } from './inference-protocol.ts'

export interface ModelSignature {
  inputName: string
  /** e.g. ['N', 3, 224, 224]; a numeric first dimension means the batch size is fixed. */
  inputShape: (number | string)[]
  outputName: string
  outputShape: (number | string)[]
}

/** What starting the engine took, ms. */
export interface EngineStartup {
  /** Thread start and onnxruntime-node loaded. */
  runtimeMs: number
  /** InferenceSession creation. */
  sessionMs: number
  optimizedCache: 'hit' | 'miss' | 'off'
}

/** An inference thread started before its model is known (see InferenceEngine.prestart). */
interface StartedWorker {
  worker: Worker
  /** Epoch ms (performance.timeOrigin + now()), to time the thread's own start-up. */
  spawnedAt: number
  /** Resolves with the error if the thread fails before it is given a model (a listener, so it is never uncaught). */
  failed: Promise<Error>
}

function startWorker(): StartedWorker {
  const spawnedAt = performance.timeOrigin + performance.now()
  const worker = new Worker(new URL('./inference-worker.ts', import.meta.url))
  return { worker, spawnedAt, failed: new Promise((resolve) => worker.once('error', resolve)) }
}

/** At most one thread started ahead, taken by the next start(). */
let spare: StartedWorker | undefined

interface PendingRun {
  resolve: (logits: Float32Array[]) => void
  reject: (error: Error) => void
  batchSize: number
}

/**
 * The replica's handle on its inference thread. `run` takes a batch of CHW tensors and returns one row of
 * logits per input. Emits 'exit' if the worker dies, after failing every pending run.
 */
export class InferenceEngine extends EventEmitter {
  readonly signature: ModelSignature
  readonly startup: EngineStartup
  readonly #worker: Worker
  readonly #pending = new Map<number, PendingRun>()
  /** Batch buffers: transferred to the worker with a run, transferred back with its result. */
  readonly #batchBuffers = new FloatBuffers()
  #nextId = 0
  #closed = false

  private constructor(worker: Worker, signature: ModelSignature, startup: EngineStartup) {
    super()
    this.#worker = worker
    this.signature = signature
    this.startup = startup
    worker.on('message', (reply: WorkerReply) => this.#onReply(reply))
    worker.on('error', (error) => this.#fail(error))
    worker.on('exit', (code) => {
      this.#fail(new Error(`inference worker exited with code ${code}`))
      if (!this.#closed) this.emit('exit', code)
    })
  }

  /**
   * Starts the worker and loads the model; the model buffer is transferred, not copied. `optimizedCache`: where
   * ONNX Runtime's optimised graph is cached across starts (see createOptimizedSession).
   */
  static async start(
    model: Uint8Array,
    intraOpThreads: number,
    optimizedCache?: { dir: string; modelSha256: string },
  ): Promise<InferenceEngine> {
    const started = spare ?? startWorker()
    spare = undefined
    const { worker, spawnedAt } = started
    const owned = model.byteOffset === 0 && model.byteLength === model.buffer.byteLength ? model : model.slice()
    const loaded = await new Promise<Extract<WorkerReply, { type: 'loaded' }>>((resolve, reject) => {
      let settled = false
      void started.failed.then((error) => {
        if (!settled) reject(error)
      })
      worker.once('message', (reply: WorkerReply) => {
        settled = true
        if (reply.type === 'loaded') resolve(reply)
        else reject(new Error(reply.type === 'error' ? `model load failed: ${reply.message}` : 'unexpected reply'))
      })
      const request: WorkerRequest = {
        type: 'load',
        model: owned.buffer as ArrayBuffer,
        intraOpThreads,
        ...(optimizedCache && { optimizedCache }),
      }
      worker.postMessage(request, [owned.buffer as ArrayBuffer])
    }).catch(async (error) => {
      await worker.terminate()
      throw error
    })
    const { inputName, inputShape, outputName, outputShape, runtimeLoadedAt, sessionMs } = loaded
    const runtimeMs = Math.max(0, runtimeLoadedAt - spawnedAt)
    return new InferenceEngine(
      worker,
      { inputName, inputShape, outputName, outputShape },
      { runtimeMs, sessionMs, optimizedCache: loaded.optimizedCache },
    )
  }

  /**
   * Starts one inference thread now, before any model is known: its own start-up (a Node environment, loading
   * onnxruntime-node) then runs on another core while the main thread loads modules and models — the next
   * start() takes it. For a process about to serve (the replica's entry point); a no-op if one is waiting.
   */
  static prestart(): void {
    spare ??= startWorker()
  }

  /** The batch size is fixed when the model declares a numeric first input dimension (then it is that number). */
  get fixedBatchSize(): number | undefined {
    const first = this.signature.inputShape[0]
    return typeof first === 'number' && first > 0 ? first : undefined
  }

  run(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (this.#closed) return Promise.reject(new Error('inference engine is closed'))
    const [, ...itemShape] = this.signature.inputShape
    const itemLength = inputs[0]!.length
    const data = this.#batchBuffers.take(itemLength * inputs.length)
    for (const [i, input] of inputs.entries()) data.set(input, i * itemLength)
    const shape = [inputs.length, ...itemShape.map((d) => (typeof d === 'number' ? d : -1))]
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, batchSize: inputs.length })
      const request: WorkerRequest = { type: 'run', id, data: data.buffer, shape }
      this.#worker.postMessage(request, [data.buffer])
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#worker.terminate()
  }

  #onReply(reply: WorkerReply): void {
    if (reply.type === 'loaded') return
    const pending = this.#pending.get(reply.id)
    if (!pending) return
    this.#pending.delete(reply.id)
    if (reply.type === 'error') {
      pending.reject(new Error(`inference failed: ${reply.message}`))
      return
    }
    this.#batchBuffers.give(new Float32Array(reply.input))
    const all = new Float32Array(reply.logits)
    const rowLength = all.length / pending.batchSize
    pending.resolve(
      Array.from({ length: pending.batchSize }, (_, i) => all.subarray(i * rowLength, (i + 1) * rowLength)),
    )
  }

  #fail(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error)
    this.#pending.clear()
  }
}
