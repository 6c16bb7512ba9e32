import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { AccessControlOptions } from '../../common/auth/access-control.ts'
import { registerMetricsRoute } from '../../common/http/metrics-route.ts'
import { createServiceApp } from '../../common/http/service-app.ts'
import type { Autoscaler } from './autoscale/autoscaler.ts'
import type { BatchJobs } from './batch/batch-jobs.ts'
import type { DatasetCatalog } from './batch/datasets.ts'
import type { GatewayConfig } from './config.ts'
import type { Dispatcher } from './dispatch/dispatcher.ts'
import { LiveStats } from './live-stats.ts'
import type { ReplicaPool } from './pool/replica-pool.ts'
import { replicaViewSchema } from './pool/replica-view.ts'
import type { Job } from './queue/job.ts'
import type { JobQueue } from './queue/job-queue.ts'
import type { RequestMetrics } from './request-metrics.ts'
import { autoscaleRoute } from './routes/autoscale.ts'
import { batchRoutes } from './routes/batch.ts'
import { liveRoute } from './routes/live.ts'
import { predictRoutes } from './routes/predict.ts'
import { statusRoutes } from './routes/status.ts'
import type { Brownout } from './versions/brownout.ts'
import type { VersionOutcomeReport } from './versions/lifecycle.ts'
import type { LiveVersion } from './versions/live-version.ts'
import type { ModelRouter } from './versions/model-router.ts'
import { registerWebPage } from './web-page.ts'

export interface GatewayServerOptions {
  config: Pick<
    GatewayConfig,
    'maxBodyBytes' | 'maxConnections' | 'bodyTimeoutMs' | 'defaultTimeoutMs' | 'discovery' | 'sloMs' | 'metricsPort'
  >
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  /** Served at GET /metrics (unless METRICS_PORT serves it apart). */
  metricsRegistry: Registry
  requestMetrics: RequestMetrics
  logger: FastifyBaseLogger
  isShuttingDown: () => boolean
  autoscaler: Autoscaler
  /** The pool is asleep and waking (admission.ts `wakingFromZero`): a request finding no replica waits. */
  wakingUp: () => boolean
  models: ModelRouter
  onVersionOutcome: (report: VersionOutcomeReport) => void
  liveVersions: () => LiveVersion[]
  batch: BatchJobs
  datasets: DatasetCatalog
  /** Tokens and whether predictions need one (default: nothing enforced). */
  access?: AccessControlOptions
  brownout?: Brownout
}

/** The gateway's HTTP face. The body of a prediction is read once, as bytes, and forwarded untouched. */
export async function buildGatewayServer(options: GatewayServerOptions): Promise<FastifyInstance> {
  const { config, queue, dispatcher, pool, autoscaler, isShuttingDown, wakingUp } = options
  const app = await createServiceApp({
    logger: options.logger,
    title: 'Switchyard gateway',
    description:
      'Queues image classification requests and sends each to the least-loaded ready replica; sheds load with 503 ' +
      '+ Retry-After, drops expired requests with 504, retries on replica failure.',
    bodyLimit: config.maxBodyBytes,
    requestTimeoutMs: config.bodyTimeoutMs,
    maxConnections: config.maxConnections,
    access: options.access,
  })
  // Each route reads the bodies it takes: uploads within their reservation (predict), JSON (batch).
  app.removeAllContentTypeParsers()
  app.addSchema(replicaViewSchema)
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-queue-size', String(queue.size))
    done(null, payload)
  })

  const live = new LiveStats()
  const sampler = setInterval(
    () => live.sampleGauges(Date.now(), { queue: queue.size, ready: pool.readyCount(), desired: autoscaler.desired }),
    1000,
  ).unref()
  app.addHook('onClose', (_app, done) => {
    clearInterval(sampler)
    done()
  })

  await app.register(predictRoutes, {
    queue,
    dispatcher,
    pool,
    metrics: options.requestMetrics,
    maxBodyBytes: config.maxBodyBytes,
    defaultTimeoutMs: config.defaultTimeoutMs,
    sloMs: config.sloMs,
    isShuttingDown,
    onArrival: () => {
      const now = Date.now()
      autoscaler.recordArrival(now)
      // Asleep (nothing serving, nothing asked): decide now rather than at the next tick, a second sooner awake.
      if (wakingUp() && autoscaler.desired === 0) autoscaler.tick(now)
    },
    wakingUp,
    onAnswered: (statusCode, elapsedMs, degraded) => live.recordAnswer(Date.now(), elapsedMs, statusCode, degraded),
    models: options.models,
    onVersionOutcome: options.onVersionOutcome,
    brownout: options.brownout,
  })
  await app.register(statusRoutes, {
    models: options.models,
    queue,
    dispatcher,
    pool,
    discovery: config.discovery,
    isShuttingDown,
    replicaSummary: () => ({ desired: autoscaler.desired }),
    wakingUp,
  })
  await app.register(autoscaleRoute, { autoscaler })
  await app.register(batchRoutes, { batch: options.batch, datasets: options.datasets })
  await app.register(liveRoute, {
    stats: live,
    queue,
    pool,
    desired: () => autoscaler.desired,
    sloMs: config.sloMs,
    versions: options.liveVersions,
  })
  await registerWebPage(app)
  // With METRICS_PORT, /metrics is served there alone (common/http/metrics-listener.ts), not here.
  if (config.metricsPort === undefined) registerMetricsRoute(app, options.metricsRegistry)
  return app
}
