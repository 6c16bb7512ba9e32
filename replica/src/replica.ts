import type { FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'
import { openAccessWarning } from '../../common/auth/open-warning.ts'
import type { TokenSet } from '../../common/auth/token-set.ts'
import { openTokenStore } from '../../common/auth/token-store.ts'
import type { WatchedFile } from '../../common/auth/watched-file.ts'
import { reachableListenUrl } from '../../common/http/listen-url.ts'
import { listenForMetrics } from '../../common/http/metrics-listener.ts'
import type { ReplicaConfig } from './config.ts'
import { InferenceEngine } from './model/inference-engine.ts'
import { loadModelDefinitions, type ModelDefinition } from './model/registry.ts'
import type { Predictor } from './predictor.ts'
import { PreprocessSlots } from './preprocess-slots.ts'
import type { ReplicaServer } from './server.ts'
import { cpuSoFar, round, type StartupBreakdown } from './startup-timing.ts'

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
  /** The phases before startReplica, measured by the entry point (Node's bootstrap, the imports). */
  processPhases?: Pick<StartupBreakdown, 'process_ms' | 'imports_ms'>
  /** Called once, when /readyz first answers 200 (a prober has seen the replica ready), with performance.now(). */
  onFirstReadyAnswer?: (atMs: number) => void
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
  // One queue for decoding, whichever model a request asked for: they share libvips' threads.
  const preprocessSlots = new PreprocessSlots(config.preprocessSlots)
  let started = performance.now()
  // Each model's session is made on its own thread as soon as its bytes are known (the default model's while the
  // others load): with more than one core (a start-up CPU boost) they overlap; on one they cost what they cost one
  // after another.
  const starting: Promise<ServedModel>[] = []
  await loadModelDefinitions(config, logger, (definition) => {
    const served = serveModel(definition, config, logger, preprocessSlots)
    // Awaited below; a failure meanwhile must not be an unhandled rejection.
    served.catch(() => {})
    starting.push(served)
  }).catch(async (error) => {
    await closeAll(starting)
    throw error
  })
  const modelLoadMs = performance.now() - started
  started = performance.now()
  const serving = Promise.allSettled(starting)
  // The HTTP side's modules (Fastify, sharp) load meanwhile, while the models' threads make their sessions.
  const [{ buildReplicaServer }, { setPreprocessThreads }, { allowOnlyAcceptedDecoders }] = await Promise.all([
    import('./server.ts'),
    import('./preprocess.ts'),
    import('./image-decoders.ts'),
  ])
  setPreprocessThreads(config.sharpConcurrency)
  allowOnlyAcceptedDecoders()
  const settled = await serving
  const failed = settled.find((s) => s.status === 'rejected')
  if (failed) {
    await closeAll(starting)
    throw failed.reason
  }
  const models = settled.map((s) => (s as PromiseFulfilledResult<ServedModel>).value)
  const enginesMs = performance.now() - started

  // One small inference per model: the session's first run initialises its kernels and allocates its buffers, so
  // readiness waits for it and no client pays for it. A larger first batch allocates a little more then (cheap
  // next to a start-up at a fraction of a core, which is why readiness does not wait for a full batch too). It runs
  // on the models' threads while the main thread builds the HTTP server.
  let warmUpStarted = 0
  const warmUpInferences = () => {
    warmUpStarted = performance.now()
    return Promise.all(
      models.map(({ engine, definition }) => engine.run([new Float32Array(3 * definition.preprocess.inputSize ** 2)])),
    )
  }
  let warming = options.warmUp !== false ? warmUpInferences() : undefined
  // Awaited below; a failure meanwhile must not be an unhandled rejection.
  warming?.catch(() => {})

  started = performance.now()
  const server = await buildReplicaServer({
    config,
    models: models.map((m) => m.predictor),
    logger: logger as FastifyBaseLogger,
    ...(options.onFirstReadyAnswer && { onFirstReadyAnswer: options.onFirstReadyAnswer }),
    access: { tokens: tokens && (() => tokens.value), predictNeedsToken: config.predictAuth },
  })
  const url = await server.app.listen({ host: config.host, port: config.port })
  const serverMs = performance.now() - started
  const metricsListener =
    config.metricsPort === undefined
      ? undefined
      : await listenForMetrics(server.metrics.registry, config.host, config.metricsPort)
  const metricsUrl = metricsListener?.url
  const warning = openAccessWarning(config.host, tokens !== undefined)
  if (warning) logger.warn(warning)

  const warmUp = async () => {
    await (warming ?? warmUpInferences())
    warming = undefined
    const readyAt = performance.now()
    const startup: StartupBreakdown = {
      ...options.processPhases,
      model_load_ms: round(modelLoadMs),
      runtime_ms: round(Math.max(...models.map((m) => m.engine.startup.runtimeMs))),
      session_ms: round(models.reduce((sum, m) => sum + m.engine.startup.sessionMs, 0)),
      engines_ms: round(enginesMs),
      server_ms: round(serverMs),
      warmup_ms: round(readyAt - warmUpStarted),
      total_ms: round(readyAt),
      ...cpuSoFar(),
      models: models.map(({ definition, engine }) => ({
        name: definition.info.name,
        version: definition.info.version,
        session_ms: round(engine.startup.sessionMs),
        optimized_cache: engine.startup.optimizedCache,
      })),
    }
    server.state.startup = startup
    server.state.warm = true
    logger.info(startup, 'startup')
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
  const engine = await InferenceEngine.start(
    definition.bytes,
    config.intraOpThreads,
    config.optimizedModelCache ? { dir: config.modelCacheDir, modelSha256: definition.info.sha256 } : undefined,
  )
  const { Predictor } = await import('./predictor.ts')
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

/** Stops the inference threads of the models that started (a start-up that fails must not leave them running). */
async function closeAll(starting: readonly Promise<ServedModel>[]): Promise<void> {
  const settled = await Promise.allSettled(starting)
  await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.engine.close() : undefined)))
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
