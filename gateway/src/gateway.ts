import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { openAccessWarning } from '../../common/auth/open-warning.ts'
import type { TokenSet } from '../../common/auth/token-set.ts'
import type { WatchedFile } from '../../common/auth/watched-file.ts'
import { reachableListenUrl } from '../../common/http/listen-url.ts'
import { listenForMetrics, type MetricsListener } from '../../common/http/metrics-listener.ts'
import { wakingFromZero } from './admission/admission.ts'
import type { Autoscaler } from './autoscale/autoscaler.ts'
import { startAutoscaling } from './autoscale/start-autoscaling.ts'
import { ROUTING_POLICIES } from './balancing/policies.ts'
import { BatchJobs } from './batch/batch-jobs.ts'
import { DatasetCatalog } from './batch/datasets.ts'
import { openBatchStore } from './batch/open-batch-store.ts'
import { batchJobSettings } from './batch/settings.ts'
import type { GatewayConfig } from './config.ts'
import { openCredentials } from './credentials.ts'
import type { Discovery } from './discovery/discovery.ts'
import type { Resolver } from './discovery/dns.ts'
import { Dispatcher } from './dispatch/dispatcher.ts'
import { drainForShutdown } from './dispatch/drain-for-shutdown.ts'
import { forwardToReplica } from './dispatch/forward.ts'
import { RetryBudget } from './dispatch/retry-budget.ts'
import { dispatcherOptions, forwardOptions, queueLimits, retryBudgetOptions } from './dispatch/settings.ts'
import type { HealthChecker } from './pool/health-checker.ts'
import type { ReplicaPool } from './pool/replica-pool.ts'
import { startPool } from './pool/start-pool.ts'
import type { Job } from './queue/job.ts'
import { JobQueue } from './queue/job-queue.ts'
import { registerQueueMetrics } from './queue/queue-metrics.ts'
import { registerRequestMetrics } from './request-metrics.ts'
import { buildGatewayServer } from './server.ts'
import { Brownout } from './versions/brownout.ts'
import { type ModelLifecycle, startModelLifecycle } from './versions/lifecycle.ts'

export interface RunningGateway {
  app: FastifyInstance
  url: string
  pool: ReplicaPool
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  discovery: Discovery
  health: HealthChecker
  autoscaler: Autoscaler
  /** Versions, the registry state and canaries. */
  models: ModelLifecycle
  /**
   * Batch evaluation jobs (durable in DATA_DIR): what `POST /batch` runs, and what a gate can call directly. Disabled
   * (`enabled` false, calls answer 503 batch_disabled) when DATA_DIR cannot be written.
   */
  batch: BatchJobs
  /** The tokens file (TOKENS_FILE), watched; undefined without one. */
  tokens: WatchedFile<TokenSet> | undefined
  /** Where GET /metrics is served alone (METRICS_PORT), if it is. */
  metricsUrl: string | undefined
  /** Re-read every file that can change under a running gateway (SIGHUP): replicas, tokens. */
  reload(): Promise<void>
  /** Stop admitting, let the queue drain (up to `timeoutMs`), answer what is left 503, close everything. */
  shutdown(timeoutMs: number): Promise<void>
}

export interface GatewayEdges {
  /** DNS resolver for `dns` discovery (tests inject one). */
  resolve?: Resolver
  /** Where local replicas' log lines go (default: dropped). */
  onReplicaLog?: (line: string) => void
  /** Uniform draws in [0, 1) for the canary split (tests inject a seeded one). */
  random?: () => number
  /**
   * How long a normal request keeps the low-lane reserve on (default INTERACTIVE_WINDOW_MS): a test widens it so
   * that a slow machine does not end "interactive traffic" in the middle of a check of the reserve.
   */
  interactiveWindowMs?: number
}

/**
 * Wires discovery → pool → health checks, queue → dispatcher → replicas, the autoscaler, versions, batch jobs and
 * the HTTP server; then listens. Each subsystem takes its options from its own settings module and registers its
 * own metrics on the one registry served at GET /metrics.
 */
export async function startGateway(
  config: GatewayConfig,
  logger: FastifyBaseLogger,
  edges: GatewayEdges = {},
): Promise<RunningGateway> {
  // Credentials first: a tokens file that cannot be read stops the gateway before it spawns or serves anything.
  const credentials = openCredentials(config, logger)
  const { tokens, peerToken, replicaToken } = credentials
  const metricsRegistry = new Registry()
  collectDefaultMetrics({ register: metricsRegistry })
  const requestMetrics = registerRequestMetrics(metricsRegistry, config.sloMs / 1000)

  const replicas = startPool(config, metricsRegistry, logger, edges)
  const { pool, health, discovery } = replicas
  const queue = new JobQueue<Job>(queueLimits(config))
  registerQueueMetrics(metricsRegistry, queue)
  const autoscaling = await startAutoscaling(config, {
    discovery,
    pool,
    queue,
    registry: metricsRegistry,
    logger,
    resolve: edges.resolve,
    peerToken: peerToken && (() => peerToken.value),
  })
  const { autoscaler, actuator } = autoscaling

  // Scaled to zero with an actuator and nothing ready: requests wait while the pool wakes (admission, dispatch).
  const wakingUp = () => wakingFromZero(config.minReplicas, actuator !== undefined, pool.readyCount())
  const forwarding = forwardOptions(config, replicaToken && (() => replicaToken.value))
  const dispatcher = new Dispatcher(
    {
      queue,
      pool,
      policy: ROUTING_POLICIES[config.routing],
      retryBudget: new RetryBudget(retryBudgetOptions(config), performance.now()),
      registry: metricsRegistry,
      rejected: requestMetrics.rejected,
      log: logger,
      forward: (job, replica, signal) => forwardToReplica(job, replica, signal, forwarding),
      wakingUp,
    },
    { ...dispatcherOptions(config), interactiveWindowMs: edges.interactiveWindowMs },
  )
  dispatcher.on('answered', (upstreamMs: number) => autoscaler.recordServiceTime(upstreamMs))

  const models = await startModelLifecycle(config, pool, metricsRegistry, logger, edges.random)
  const datasets = new DatasetCatalog(config.datasetsDir)
  const batchStore = openBatchStore(config.dataDir, logger)
  const batch = new BatchJobs(
    { store: batchStore, datasets, dispatcher, queue, pool, log: logger },
    batchJobSettings(config),
  )
  let shuttingDown = false
  const app = await buildGatewayServer({
    config,
    queue,
    dispatcher,
    pool,
    metricsRegistry,
    requestMetrics,
    logger,
    isShuttingDown: () => shuttingDown,
    autoscaler,
    wakingUp,
    models: models.router,
    onVersionOutcome: models.onVersionOutcome,
    liveVersions: models.liveVersions,
    batch,
    datasets,
    access: { tokens: tokens && (() => tokens.value), predictNeedsToken: config.predictAuth },
    brownout: new Brownout({
      registry: models.registry,
      pool,
      serviceTimes: models.serviceTimes,
      enabled: config.brownout === 'on',
    }),
  })
  await replicas.discover()
  const url = reachableListenUrl(await app.listen({ host: config.host, port: config.port }))
  let metricsListener: MetricsListener | undefined
  if (config.metricsPort !== undefined)
    metricsListener = await listenForMetrics(metricsRegistry, config.host, config.metricsPort)
  const metricsUrl = metricsListener?.url
  const warning = openAccessWarning(config.host, tokens !== undefined)
  if (warning) logger.warn(warning)
  logger.info(
    {
      url,
      discovery: config.discovery,
      routing: config.routing,
      model_registry: config.modelRegistryFile,
      registered_models: Object.keys(models.registry.state.models).length,
      tokens: tokens?.value.size ?? 0,
      predict_auth: tokens !== undefined && config.predictAuth,
      ...(metricsUrl && { metrics: `${metricsUrl}/metrics` }),
    },
    'gateway listening',
  )
  batch.start()

  const shutdown = async (timeoutMs: number) => {
    shuttingDown = true
    await autoscaling.stop()
    // Batch images still queued are withdrawn (a restarted gateway evaluates them), so they do not delay the drain.
    await batch.stop()
    await drainForShutdown(dispatcher, timeoutMs, logger)
    await app.close()
    await metricsListener?.close()
    credentials.close()
    await models.close()
    await replicas.stop()
    batchStore?.close()
  }
  const reload = async () => {
    await Promise.all([discovery.refresh(), credentials.refresh()])
  }
  return {
    app,
    url,
    pool,
    queue,
    dispatcher,
    discovery,
    health,
    autoscaler,
    models,
    batch,
    tokens,
    metricsUrl,
    reload,
    shutdown,
  }
}
