/**
 * Runs the ONNX session on its own thread: onnxruntime-node's `run` is synchronous underneath, and on the
 * main thread it would stall HTTP parsing, health checks and load headers for the length of every batch.
 */
import { parentPort } from 'node:worker_threads'
import ort from 'onnxruntime-node'
import type { WorkerReply, WorkerRequest } from './inference-protocol.ts'
import { createOptimizedSession, optimizedModelPath } from './optimized-session.ts'

/** When the thread had started and loaded onnxruntime-node (epoch ms: the main thread compares it with its own). */
const runtimeLoadedAt = performance.timeOrigin + performance.now()

const port = parentPort
if (!port) throw new Error('inference-worker must run in a worker thread')

let session: ort.InferenceSession | undefined

port.on('message', async (message: WorkerRequest) => {
  try {
    if (message.type === 'load') {
      const started = performance.now()
      const created = await createOptimizedSession(
        new Uint8Array(message.model),
        {
          intraOpNumThreads: message.intraOpThreads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
        },
        message.optimizedCache && optimizedModelPath(message.optimizedCache.dir, message.optimizedCache.modelSha256),
      )
      session = created.session
      const input = session.inputMetadata[0]
      const output = session.outputMetadata[0]
      if (!input?.isTensor || !output?.isTensor) throw new Error('the model must have one tensor input and output')
      reply({
        type: 'loaded',
        inputName: input.name,
        inputShape: [...input.shape],
        outputName: output.name,
        outputShape: [...output.shape],
        runtimeLoadedAt,
        sessionMs: performance.now() - started,
        optimizedCache: created.cache,
      })
      return
    }
    if (!session) throw new Error('no model loaded')
    const tensor = new ort.Tensor('float32', new Float32Array(message.data), message.shape)
    const results = await session.run({ [session.inputNames[0]!]: tensor })
    const output = results[session.outputNames[0]!]!
    const logits = output.data as Float32Array
    const copy = logits.slice()
    tensor.dispose()
    output.dispose()
    // The run is over, so nothing here reads the input any more: it goes back to the main thread for reuse.
    reply({ type: 'result', id: message.id, logits: copy.buffer, dims: [...output.dims], input: message.data }, [
      copy.buffer,
      message.data,
    ])
  } catch (error) {
    reply({ type: 'error', id: message.type === 'run' ? message.id : -1, message: (error as Error).message })
  }
})

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer)
}
