import multipart from '@fastify/multipart'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { registerMetricsRoute } from '../../common/http/metrics-route.ts'
import { createServiceApp } from '../../common/http/service-app.ts'
import type { ReplicaConfig } from './config.ts'
import { createReplicaMetrics } from './metrics.ts'
import type { Predictor } from './predictor.ts'
import { initialReplicaState, type ReplicaState } from './replica-state.ts'
import { healthRoutes } from './routes/health.ts'
import { predictRoutes } from './routes/predict.ts'

export interface ReplicaServerOptions {
  config: Pick<
    ReplicaConfig,
    'replicaId' | 'maxBodyBytes' | 'maxQueue' | 'maxInflight' | 'bodyTimeoutMs' | 'maxBatchSize' | 'maxInputPixels'
  >
  /** One predictor per model served, the default model first. */
  models: readonly Predictor[]
  logger: FastifyBaseLogger
  /** Called once, when /readyz first answers 200, with performance.now(). */
  onFirstReadyAnswer?: (atMs: number) => void
}

export interface ReplicaServer {
  app: FastifyInstance
  state: ReplicaState
}

/** The replica's HTTP face: predict, health, readiness, metrics, with load reported on every answer. */
export async function buildReplicaServer(options: ReplicaServerOptions): Promise<ReplicaServer> {
  const { config, models, logger } = options
  const state = initialReplicaState()
  const queued = () => models.reduce((waiting, predictor) => waiting - predictor.batcher.running, state.inflight)
  const metrics = createReplicaMetrics(
    models.map((m) => m.model),
    { inflight: () => state.inflight, queued },
    config.maxBatchSize,
  )

  const app = await createServiceApp({
    logger,
    title: 'Switchyard replica',
    description:
      'Image classification (ResNet18 by default, other models by name) with micro-batching; reports its own load on every answer.',
    bodyLimit: config.maxBodyBytes,
    requestTimeoutMs: config.bodyTimeoutMs,
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

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-replica-inflight', String(state.inflight))
    reply.header('x-replica-queue', String(Math.max(0, queued())))
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
  })
  await app.register(healthRoutes, {
    state,
    models: models.map((m) => m.model),
    replicaId: config.replicaId,
    queued,
    ...(options.onFirstReadyAnswer && { onFirstReadyAnswer: options.onFirstReadyAnswer }),
  })
  registerMetricsRoute(app, metrics.registry)
  return { app, state }
}
