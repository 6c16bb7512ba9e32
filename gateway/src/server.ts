import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { registerMetricsRoute } from '../../common/http/metrics-route.ts'
import { createServiceApp } from '../../common/http/service-app.ts'
import type { Autoscaler } from './autoscale/autoscaler.ts'
import type { GatewayConfig } from './config.ts'
import type { Dispatcher } from './dispatch/dispatcher.ts'
import { LiveStats } from './live-stats.ts'
import type { GatewayMetrics } from './metrics.ts'
import type { ReplicaPool } from './pool/replica-pool.ts'
import type { Job } from './queue/job.ts'
import type { JobQueue } from './queue/job-queue.ts'
import { registerAutoscaleRoute } from './routes/autoscale.ts'
import { registerLiveRoute } from './routes/live.ts'
import { registerPredictRoutes } from './routes/predict.ts'
import { registerStatusRoutes } from './routes/status.ts'
import { registerWebPage } from './web-page.ts'

export interface GatewayServerOptions {
  config: Pick<GatewayConfig, 'maxBodyBytes' | 'bodyTimeoutMs' | 'defaultTimeoutMs' | 'discovery' | 'sloMs'>
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  metrics: GatewayMetrics
  logger: FastifyBaseLogger
  isShuttingDown: () => boolean
  autoscaler: Autoscaler
}

const isPredictUrl = (url: string) => /^\/(predict|add_to_queue)(\?|$)/.test(url)

/** The gateway's HTTP face. The body of a prediction is read once, as bytes, and forwarded untouched. */
export async function buildGatewayServer(options: GatewayServerOptions): Promise<FastifyInstance> {
  const { config, queue, dispatcher, pool, metrics } = options
  const app = await createServiceApp({
    logger: options.logger,
    title: 'Switchyard gateway',
    description:
      'Queues image classification requests and sends each to the least-loaded ready replica; sheds load with 503 ' +
      '+ Retry-After, drops expired requests with 504, retries on replica failure.',
    bodyLimit: config.maxBodyBytes,
    requestTimeoutMs: config.bodyTimeoutMs,
    logRequest: isPredictUrl,
  })
  // The gateway does not parse uploads (replicas do): every accepted type is read as raw bytes.
  app.removeAllContentTypeParsers()
  const asBuffer = { parseAs: 'buffer' as const }
  for (const type of ['multipart/form-data', 'application/octet-stream', /^image\/[\w.+-]+$/]) {
    app.addContentTypeParser(type, asBuffer, (_request, body, done) => done(null, body))
  }

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-queue-size', String(queue.size))
    done(null, payload)
  })
  const live = new LiveStats()
  const sampleGauges = () =>
    live.sampleGauges(Date.now(), { queue: queue.size, ready: pool.readyCount(), desired: options.autoscaler.desired })
  const sampler = setInterval(sampleGauges, 1000).unref()
  app.addHook('onClose', (_app, done) => {
    clearInterval(sampler)
    done()
  })

  app.addHook('onResponse', (request, reply, done) => {
    done()
    if (!isPredictUrl(request.url)) return
    live.recordAnswer(Date.now(), reply.elapsedTime, reply.statusCode)
    const status = String(reply.statusCode)
    metrics.requests.inc({ status })
    metrics.requestSeconds.observe({ status }, reply.elapsedTime / 1000)
    if (reply.statusCode === 413) metrics.rejected.inc({ reason: 'too_large' })
  })

  registerPredictRoutes(app, {
    queue,
    dispatcher,
    pool,
    metrics,
    defaultTimeoutMs: config.defaultTimeoutMs,
    sloMs: config.sloMs,
    isShuttingDown: options.isShuttingDown,
    onArrival: () => options.autoscaler.recordArrival(Date.now()),
  })
  registerStatusRoutes(app, {
    queue,
    dispatcher,
    pool,
    discovery: config.discovery,
    isShuttingDown: options.isShuttingDown,
    replicaSummary: () => ({ desired: options.autoscaler.desired }),
  })
  registerAutoscaleRoute(app, options.autoscaler)
  registerLiveRoute(app, { stats: live, queue, pool, desired: () => options.autoscaler.desired, sloMs: config.sloMs })
  await registerWebPage(app)
  registerMetricsRoute(app, metrics.registry)
  return app
}
