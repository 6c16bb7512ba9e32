import type { IncomingMessage, ServerResponse } from 'node:http'
import multipart from '@fastify/multipart'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { AccessControlOptions } from '../../common/auth/access-control.ts'
import { registerMetricsRoute } from '../../common/http/metrics-route.ts'
import { REPLICA_LOAD_HEADERS } from '../../common/http/replica-protocol.ts'
import { createServiceApp } from '../../common/http/service-app.ts'
import type { ReplicaConfig } from './config.ts'
import { createReplicaMetrics, type ReplicaMetrics } from './metrics.ts'
import type { Predictor } from './predictor.ts'
import { initialReplicaState, type ReplicaState } from './replica-state.ts'
import { healthRoutes } from './routes/health.ts'
import { predictRoutes } from './routes/predict.ts'

export interface ReplicaServerOptions {
  config: Pick<
    ReplicaConfig,
    | 'replicaId'
    | 'maxBodyBytes'
    | 'maxQueue'
    | 'maxInflight'
    | 'bodyTimeoutMs'
    | 'maxBatchSize'
    | 'maxInputPixels'
    | 'metricsPort'
  >
  /** One predictor per model served, the default model first. */
  models: readonly Predictor[]
  logger: FastifyBaseLogger
  /** Tokens (a gateway presents one) and whether predictions need one (default: nothing enforced). */
  access?: AccessControlOptions
  /** Called once, when /readyz first answers 200, with performance.now(). */
  onFirstReadyAnswer?: (atMs: number) => void
}

export interface ReplicaServer {
  app: FastifyInstance
  state: ReplicaState
  metrics: ReplicaMetrics
}

/** The replica's HTTP face: predict, health, readiness, metrics, with load reported on every answer. */
export async function buildReplicaServer(options: ReplicaServerOptions): Promise<ReplicaServer> {
  const { config, models, logger } = options
  const state = initialReplicaState()
  const queued = () => models.reduce((waiting, predictor) => waiting - predictor.batcher.running, state.inflight)
  const metrics = createReplicaMetrics(
    models.map((m) => m.model),
    { inflight: () => state.inflight, queued, preprocess: models[0]!.preprocessSlots },
    config.maxBatchSize,
  )

  const app = await createServiceApp({
    logger,
    title: 'Switchyard replica',
    description:
      'Image classification (ResNet18 by default, other models by name) with micro-batching; reports its own load on every answer.',
    bodyLimit: config.maxBodyBytes,
    requestTimeoutMs: config.bodyTimeoutMs,
    access: options.access,
  })
  await app.register(multipart, {
    limits: {
      fileSize: config.maxBodyBytes,
      files: 2,
      fields: 16,
      parts: 32,
      fieldNameSize: 100,
      headerPairs: 100,
    },
  })
  app.addContentTypeParser(/^image\/[\w.+-]+$/, { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  )

  // Draining refuses what arrives after it began. A request whose headers came before is in flight even while its
  // (async) hooks have not run yet: it is answered, and shutdown waits for it.
  const beforeDrain = new WeakSet<IncomingMessage>()
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (state.draining) return
    beforeDrain.add(request)
    state.arrivedBeforeDrain++
    response.once('close', () => state.arrivedBeforeDrain--)
  })

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header(REPLICA_LOAD_HEADERS.inflight, String(state.inflight))
    reply.header(REPLICA_LOAD_HEADERS.queue, String(Math.max(0, queued())))
    done(null, payload)
  })

  await app.register(predictRoutes, {
    state,
    models,
    metrics,
    replicaId: config.replicaId,
    maxQueue: config.maxQueue,
    maxInflight: config.maxInflight,
    queued,
    arrivedBeforeDrain: (request: IncomingMessage) => beforeDrain.has(request),
  })
  await app.register(healthRoutes, {
    state,
    models: models.map((m) => m.model),
    replicaId: config.replicaId,
    queued,
    ...(options.onFirstReadyAnswer && { onFirstReadyAnswer: options.onFirstReadyAnswer }),
  })
  // With METRICS_PORT, /metrics is served there alone (the replica starts that listener), not here.
  if (config.metricsPort === undefined) registerMetricsRoute(app, metrics.registry)
  return { app, state, metrics }
}
