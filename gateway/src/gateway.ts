import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { openAccessWarning } from '../../common/auth/open-warning.ts'
import type { TokenSet } from '../../common/auth/token-set.ts'
import { openSecretFile, openTokenStore } from '../../common/auth/token-store.ts'
import type { WatchedFile } from '../../common/auth/watched-file.ts'
import { reachableListenUrl } from '../../common/http/listen-url.ts'
import { listenForMetrics, type MetricsListener } from '../../common/http/metrics-listener.ts'
import { wakingFromZero } from './admission/admission.ts'
import { type KubernetesActuator, kubernetesActuator } from './autoscale/actuators/kubernetes.ts'
import { localActuator } from './autoscale/actuators/local.ts'
import { type Actuator, Autoscaler } from './autoscale/autoscaler.ts'
import { gatewayCluster } from './autoscale/gateway-cluster.ts'
import { kubernetesClient } from './autoscale/kubernetes-api.ts'
import { ROUTING_POLICIES } from './balancing/policies.ts'
import { BatchJobs } from './batch/batch-jobs.ts'
import { DatasetCatalog } from './batch/datasets.ts'
import { openBatchStore } from './batch/open-batch-store.ts'
import type { GatewayConfig } from './config.ts'
import type { Discovery } from './discovery/discovery.ts'
import { DnsDiscovery, type Resolver } from './discovery/dns.ts'
import { LocalReplicas } from './discovery/local.ts'
import { StaticDiscovery } from './discovery/static.ts'
import { Dispatcher } from './dispatch/dispatcher.ts'
import { forwardToReplica } from './dispatch/forward.ts'
import { RetryBudget } from './dispatch/retry-budget.ts'
import { createGatewayMetrics } from './metrics.ts'
import { HealthChecker } from './pool/health-checker.ts'
import { ReplicaPool } from './pool/replica-pool.ts'
import type { Job } from './queue/job.ts'
import { JobQueue } from './queue/job-queue.ts'
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

/** Wires discovery → pool → health checks, queue → dispatcher → replicas, and the HTTP server; then listens. */
export async function startGateway(
  config: GatewayConfig,
  logger: FastifyBaseLogger,
  edges: GatewayEdges = {},
): Promise<RunningGateway> {
  // Credentials first: a tokens file that cannot be read stops the gateway before it spawns or serves anything.
  const tokens = config.tokensFile ? openTokenStore(config.tokensFile, logger) : undefined
  const peerToken = config.peerTokenFile ? openSecretFile('PEER_TOKEN_FILE', config.peerTokenFile, logger) : undefined
  const replicaToken = config.replicaTokenFile
    ? openSecretFile('REPLICA_TOKEN_FILE', config.replicaTokenFile, logger)
    : undefined
  tokens?.on('reloaded', (set) => logger.info({ tokens: set.size }, 'tokens file re-read'))
  const pool = new ReplicaPool({
    slotsPerReplica: config.slotsPerReplica,
    connectionsPerReplica: config.slotsWhenQueued,
    connectTimeoutMs: config.connectTimeoutMs,
    outlier: {
      consecutiveFailures: config.outlierFailures,
      baseEjectionMs: config.ejectionBaseMs,
      maxEjectionMs: config.ejectionMaxMs,
    },
    readiness: {
      failureThreshold: config.healthFailureThreshold,
      successThreshold: config.healthSuccessThreshold,
    },
  })
  pool.on('routability', (replica, routable, cause) =>
    logger.info({ replica: replica.url, routable, ready: replica.ready, cause }, 'replica routability changed'),
  )
  const queue = new JobQueue<Job>({
    maxCount: config.queueMax,
    maxBytes: config.queueMaxBytes,
    maxReceivingBytes: config.maxReceivingBytes,
    lowPriorityShare: config.lowPriorityShare,
  })
  let dispatcher: Dispatcher | undefined
  let autoscaler: Autoscaler | undefined
  const metrics = createGatewayMetrics({
    queueSize: () => queue.size,
    queueBytes: () => queue.bytes,
    workersBusy: () => dispatcher?.busy ?? 0,
    pool,
    queueLimit: config.queueMax,
    sloSeconds: config.sloMs / 1000,
    autoscale: () => autoscaler?.status,
  })
  const forwardOptions = {
    graceMs: config.deadlineGraceMs,
    token: replicaToken && (() => replicaToken.value),
  }
  // Scaled to zero with an actuator and nothing ready: requests wait while the pool wakes (admission, dispatch).
  const wakingUp = () => wakingFromZero(config.minReplicas, autoscaler?.actuator !== undefined, pool.readyCount())
  dispatcher = new Dispatcher(
    {
      queue,
      pool,
      policy: ROUTING_POLICIES[config.routing],
      retryBudget: new RetryBudget(
        { ratio: config.retryBudgetRatio, windowMs: config.retryWindowMs, minRetries: config.retryMin },
        performance.now(),
      ),
      metrics,
      log: logger,
      forward: (job, replica, signal) => forwardToReplica(job, replica, signal, forwardOptions),
      wakingUp,
    },
    {
      workers: config.workers,
      slotsWhenQueued: config.slotsWhenQueued,
      lowPriorityReservedSlots: config.lowPriorityReservedSlots,
      interactiveWindowMs: edges.interactiveWindowMs,
    },
  )
  const health = new HealthChecker(
    pool,
    {
      intervalMs: config.healthIntervalMs,
      timeoutMs: config.healthTimeoutMs,
      bootIntervalMs: config.healthBootIntervalMs,
      bootWindowMs: config.healthBootWindowMs,
    },
    logger,
  )
  // A replica discovery just announced is probed at once rather than at the next tick.
  pool.on('added', (replica) => void health.probe(replica))

  const discovery = createDiscovery(config, logger, edges)
  const actuator = await createActuator(config, discovery, pool)
  const kube = config.autoscaler === 'kubernetes' ? await kubernetesClient(kubeConnection(config)) : undefined
  const cluster = gatewayCluster(config, kube, logger, edges.resolve, peerToken && (() => peerToken.value))
  autoscaler = new Autoscaler(
    {
      targetUtilization: config.targetUtilization,
      drainTimeS: config.sloMs / 1000,
      startupS: config.replicaStartupS,
      minReplicas: config.minReplicas,
      maxReplicas: config.maxReplicas,
      panicThreshold: config.panicThreshold,
      shortWindowS: config.shortWindowS,
      burstNoiseZ: config.burstNoiseZ,
      waitTailShare: config.waitTailShare,
      trendGain: config.trendGain,
      trendWindowS: config.trendWindowS,
      longWindowS: config.longWindowS,
      scaleDownStabilizationS: config.scaleDownStabilizationS,
      scaleDownStartups: config.scaleDownStartups,
      slotsPerReplica: config.slotsPerReplica,
      initialServiceTimeS: 0.05,
      standby: config.standby,
      minStandbys: config.minStandbys,
      maxStandbys: config.maxStandbys,
      standbyHorizonS: config.standbyHorizonS,
    },
    actuator,
    () => ({ backlog: queue.size, readyReplicas: pool.readyCount() }),
    Date.now(),
    config.discovery === 'local' ? config.localReplicas : await currentScale(actuator, logger),
    cluster.cluster,
  )
  autoscaler.on('error', (error) => logger.error({ err: error }, 'scaling failed'))
  autoscaler.on('decision', (status) => {
    if (status.desired !== lastDesired)
      logger.info({ desired: status.desired, inputs: status.inputs }, 'desired replicas changed')
    lastDesired = status.desired
  })
  let lastDesired = autoscaler.desired
  dispatcher.on('answered', (upstreamMs: number) => autoscaler?.recordServiceTime(upstreamMs))
  const autoscaleTimer = setInterval(() => {
    cluster.refresh()
    autoscaler?.tick(Date.now())
  }, config.autoscaleIntervalMs)
  cluster.start()
  const models = await startModelLifecycle(config, pool, metrics, logger, edges.random)
  const datasets = new DatasetCatalog(config.datasetsDir)
  const batchStore = openBatchStore(config.dataDir, logger)
  const batch = new BatchJobs(
    { store: batchStore, datasets, dispatcher, queue, pool, log: logger },
    {
      concurrency: config.batchConcurrency,
      imageTimeoutMs: config.batchImageTimeoutMs,
      stallTimeoutMs: config.batchStallTimeoutMs,
      maxActiveJobs: config.batchMaxActiveJobs,
      retention: { keep: config.batchKeepFinished, maxAgeMs: config.batchKeepFinishedS * 1000 },
    },
  )
  let shuttingDown = false
  const app = await buildGatewayServer({
    config,
    queue,
    dispatcher,
    pool,
    metrics,
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
  await discovery.start((urls) => pool.setTargets(urls))
  health.start()
  const url = reachableListenUrl(await app.listen({ host: config.host, port: config.port }))
  let metricsListener: MetricsListener | undefined
  if (config.metricsPort !== undefined)
    metricsListener = await listenForMetrics(metrics.registry, config.host, config.metricsPort)
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
    clearInterval(autoscaleTimer)
    // Another gateway takes over scaling at once rather than after the lease expires.
    await cluster.stop()
    // Batch images still queued are withdrawn (a restarted gateway evaluates them), so they do not delay the drain.
    await batch.stop()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([dispatcher.drained(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    const left = dispatcher.failQueued('shutting_down', 'the gateway shut down before this request was sent')
    if (left > 0) logger.warn({ requests: left }, 'answered 503 to requests still queued at shutdown')
    await app.close()
    await metricsListener?.close()
    for (const file of [tokens, peerToken, replicaToken]) file?.close()
    await models.close()
    await health.stop()
    await discovery.stop()
    await pool.close()
    batchStore?.close()
  }
  const reload = async () => {
    await Promise.all([discovery.refresh(), tokens?.refresh(), peerToken?.refresh(), replicaToken?.refresh()])
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

async function createActuator(
  config: GatewayConfig,
  discovery: Discovery,
  pool: ReplicaPool,
): Promise<Actuator | undefined> {
  switch (config.autoscaler) {
    case 'none':
      return undefined
    case 'local':
      return localActuator(discovery as LocalReplicas, pool)
    case 'kubernetes':
      return kubernetesActuator({
        ...kubeConnection(config),
        namespace: config.kubeNamespace,
        deployment: config.kubeDeployment,
        roles: config.kubePodSelector
          ? { selector: config.kubePodSelector, container: config.kubeContainer, standbyCpu: config.standbyCpu }
          : undefined,
      })
  }
}

function kubeConnection(config: GatewayConfig) {
  return { apiUrl: config.kubeApiUrl!, tokenFile: config.kubeTokenFile, caFile: config.kubeCaFile }
}

/**
 * The replica Deployment's size when this gateway starts: its first scale-down window counts it as a recent
 * recommendation, so a gateway that restarts (a rolling update) does not shrink a pool it has not measured yet.
 */
async function currentScale(actuator: Actuator | undefined, logger: FastifyBaseLogger): Promise<number> {
  if (actuator?.name !== 'kubernetes') return 0
  try {
    return await (actuator as KubernetesActuator).current()
  } catch (error) {
    logger.warn({ err: error }, 'could not read the replica Deployment scale; starting from none')
    return 0
  }
}

function createDiscovery(config: GatewayConfig, logger: FastifyBaseLogger, edges: GatewayEdges): Discovery {
  switch (config.discovery) {
    case 'static':
      return new StaticDiscovery(config.replicas, config.replicasFile, logger)
    case 'dns':
      return new DnsDiscovery(
        { hostname: config.dnsName!, port: config.dnsPort, intervalMs: config.dnsIntervalMs, resolve: edges.resolve },
        logger,
      )
    case 'local':
      return new LocalReplicas(
        { count: config.localReplicas, args: config.localReplicaArgs, onLog: edges.onReplicaLog },
        logger,
      )
  }
}
