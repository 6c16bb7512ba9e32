import type { FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'
import { openAccessWarning } from '../../common/auth/open-warning.ts'
import type { TokenSet } from '../../common/auth/token-set.ts'
import { openTokenStore } from '../../common/auth/token-store.ts'
import type { WatchedFile } from '../../common/auth/watched-file.ts'
import { reachableListenUrl } from '../../common/http/listen-url.ts'
import { listenForMetrics } from '../../common/http/metrics-listener.ts'
import type { ReplicaConfig } from './config.ts'
import { allowOnlyAcceptedDecoders } from './image-decoders.ts'
import { InferenceEngine } from './model/inference-engine.ts'
import { loadModelDefinitions, type ModelDefinition } from './model/registry.ts'
import { Predictor } from './predictor.ts'
import { setPreprocessThreads } from './preprocess.ts'
import { PreprocessSlots } from './preprocess-slots.ts'
import { buildReplicaServer, type ReplicaServer } from './server.ts'

/** One model being served: its inference thread and the predictor (batching, labels) in front of it. */
export interface ServedModel {
  engine: InferenceEngine
  predictor: Predictor
  definition: ModelDefinition
  maxBatchSize: number
}

export interface RunningReplica extends ReplicaServer {
  /** The default model's engine and predictor (ResNet18). */
  engine: InferenceEngine
  predictor: Predictor
  /** Every model served, the default first. */
  models: ServedModel[]
  /** The address the server listens on, e.g. http://127.0.0.1:41233 */
  url: string
  /** The tokens file (TOKENS_FILE), watched; undefined without one. */
  tokens: WatchedFile<TokenSet> | undefined
  /** Where GET /metrics is served alone (METRICS_PORT), if it is. */
  metricsUrl: string | undefined
  /** Runs the warm-up inferences, then reports ready (startReplica does this unless told not to). */
  warmUp(): Promise<void>
  /** Readiness off, refuse new work, wait for in-flight requests (up to `timeoutMs`), then close everything. */
  shutdown(timeoutMs: number): Promise<void>
}

export interface StartReplicaOptions {
  /** false leaves the replica not ready until `warmUp()` is called (tests observe readiness this way). */
  warmUp?: boolean
}

/** Provisions the models, starts one inference thread each and the HTTP server, warms up, then reports ready. */
export async function startReplica(
  config: ReplicaConfig,
  logger: Logger,
  options: StartReplicaOptions = {},
): Promise<RunningReplica> {
  // Credentials first: a tokens file that cannot be read stops the replica before it loads any model.
  const tokens = config.tokensFile ? openTokenStore(config.tokensFile, logger) : undefined
  tokens?.on('reloaded', (set) => logger.info({ tokens: set.size }, 'tokens file re-read'))
  setPreprocessThreads(config.sharpConcurrency)
  allowOnlyAcceptedDecoders()
  const definitions = await loadModelDefinitions(config, logger)
  const models: ServedModel[] = []
  // One queue for decoding, whichever model a request asked for: they share libvips' threads.
  const preprocessSlots = new PreprocessSlots(config.preprocessSlots)
  for (const definition of definitions) models.push(await serveModel(definition, config, logger, preprocessSlots))
  const server = await buildReplicaServer({
    config,
    models: models.map((m) => m.predictor),
    logger: logger as FastifyBaseLogger,
    access: { tokens: tokens && (() => tokens.value), predictNeedsToken: config.predictAuth },
  })
  const url = await server.app.listen({ host: config.host, port: config.port })
  const metricsListener =
    config.metricsPort === undefined
      ? undefined
      : await listenForMetrics(server.metrics.registry, config.host, config.metricsPort)
  const metricsUrl = metricsListener?.url
  const warning = openAccessWarning(config.host, tokens !== undefined)
  if (warning) logger.warn(warning)

  // The first runs allocate the session's buffers; readiness waits for them so no client pays for it.
  const warmUp = async () => {
    for (const { engine, definition, maxBatchSize } of models) {
      const item = new Float32Array(3 * definition.preprocess.inputSize ** 2)
      await engine.run(Array.from({ length: maxBatchSize }, () => item))
      await engine.run([item])
    }
    server.state.warm = true
    logger.info(
      { url, models: models.map((m) => m.definition.info), max_batch_size: config.maxBatchSize },
      'replica ready',
    )
  }
  if (options.warmUp !== false) await warmUp()

  const shutdown = async (timeoutMs: number) => {
    server.state.draining = true
    const drained = waitFor(() => server.state.inflight === 0 && server.state.arrivedBeforeDrain === 0, timeoutMs)
    if (!(await drained)) logger.warn({ inflight: server.state.inflight }, 'shutdown timeout with requests in flight')
    await server.app.close()
    await metricsListener?.close()
    tokens?.close()
    await Promise.all(models.map((m) => m.engine.close()))
  }
  const [main] = models as [ServedModel]
  return {
    ...server,
    engine: main.engine,
    predictor: main.predictor,
    models,
    url: reachableListenUrl(url),
    tokens,
    metricsUrl,
    warmUp,
    shutdown,
  }
}

export async function serveModel(
  definition: ModelDefinition,
  config: ReplicaConfig,
  logger: Logger,
  preprocessSlots = new PreprocessSlots(config.preprocessSlots),
): Promise<ServedModel> {
  const engine = await InferenceEngine.start(definition.bytes, config.intraOpThreads)
  let maxBatchSize = config.maxBatchSize
  if (engine.fixedBatchSize !== undefined) {
    if (engine.fixedBatchSize !== 1) {
      await engine.close()
      throw new Error(`model ${definition.info.name} has a fixed batch size of ${engine.fixedBatchSize}`)
    }
    logger.warn({ model: definition.info.name }, 'the model has a fixed batch size of 1: micro-batching is off')
    maxBatchSize = 1
  }
  const predictor = new Predictor({
    inference: engine,
    labels: definition.labels,
    model: definition.info,
    preprocess: { ...definition.preprocess, maxInputPixels: config.maxInputPixels },
    maxBatchSize,
    maxBatchWaitMs: config.maxBatchWaitMs,
    preprocessSlots,
  })
  return { engine, predictor, definition, maxBatchSize }
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
