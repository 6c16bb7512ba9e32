import type { FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'
import type { ReplicaConfig } from './config.ts'
import { loadImagenetClasses } from './labels.ts'
import { InferenceEngine } from './model/inference-engine.ts'
import { provisionResnet18 } from './model/provision.ts'
import { Predictor } from './predictor.ts'
import { IMAGENET_PREPROCESS } from './preprocess.ts'
import { buildReplicaServer, type ReplicaServer } from './server.ts'

export interface RunningReplica extends ReplicaServer {
  engine: InferenceEngine
  predictor: Predictor
  /** The address the server listens on, e.g. http://127.0.0.1:41233 */
  url: string
  /** Runs the warm-up inferences, then reports ready (startReplica does this unless told not to). */
  warmUp(): Promise<void>
  /** Readiness off, refuse new work, wait for in-flight requests (up to `timeoutMs`), then close everything. */
  shutdown(timeoutMs: number): Promise<void>
}

export interface StartReplicaOptions {
  /** false leaves the replica not ready until `warmUp()` is called (tests observe readiness this way). */
  warmUp?: boolean
}

/** Provisions the model, starts the inference thread and the HTTP server, warms up, then reports ready. */
export async function startReplica(
  config: ReplicaConfig,
  logger: Logger,
  options: StartReplicaOptions = {},
): Promise<RunningReplica> {
  const model = await provisionResnet18(config, logger)
  const engine = await InferenceEngine.start(model.bytes, config.intraOpThreads)
  let maxBatchSize = config.maxBatchSize
  if (engine.fixedBatchSize !== undefined) {
    if (engine.fixedBatchSize !== 1) throw new Error(`the model has a fixed batch size of ${engine.fixedBatchSize}`)
    logger.warn('the model has a fixed batch size of 1: micro-batching is off')
    maxBatchSize = 1
  }
  const predictor = new Predictor({
    inference: engine,
    classes: loadImagenetClasses(),
    model: model.info,
    preprocess: { ...IMAGENET_PREPROCESS, maxInputPixels: config.maxInputPixels },
    maxBatchSize,
    maxBatchWaitMs: config.maxBatchWaitMs,
  })
  const server = await buildReplicaServer({
    config: { ...config, maxBatchSize },
    predictor,
    model: model.info,
    logger: logger as FastifyBaseLogger,
  })
  const url = await server.app.listen({ host: config.host, port: config.port })

  // The first runs allocate the session's buffers; readiness waits for them so no client pays for it.
  const warmUp = async () => {
    const item = new Float32Array(3 * IMAGENET_PREPROCESS.inputSize ** 2)
    await engine.run(Array.from({ length: maxBatchSize }, () => item))
    await engine.run([item])
    server.state.warm = true
    logger.info({ url, model: model.info, max_batch_size: maxBatchSize }, 'replica ready')
  }
  if (options.warmUp !== false) await warmUp()

  const shutdown = async (timeoutMs: number) => {
    server.state.draining = true
    const drained = waitFor(() => server.state.inflight === 0, timeoutMs)
    if (!(await drained)) logger.warn({ inflight: server.state.inflight }, 'shutdown timeout with requests in flight')
    await server.app.close()
    await engine.close()
  }
  return { ...server, engine, predictor, url: toLocalUrl(url), warmUp, shutdown }
}

function toLocalUrl(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://127.0.0.1:')
}

/** Polls a cheap condition every 10 ms; resolves true when it holds, false at the timeout. */
function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs
    const check = () => {
      if (condition()) return resolve(true)
      if (Date.now() >= deadline) return resolve(false)
      setTimeout(check, 10)
    }
    check()
  })
}
