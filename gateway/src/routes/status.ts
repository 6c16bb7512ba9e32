import type { FastifyInstance } from 'fastify'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import type { Job } from '../queue/job.ts'
import type { JobQueue } from '../queue/job-queue.ts'

export interface StatusRouteOptions {
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  discovery: string
  isShuttingDown: () => boolean
  /** Extra fields for GET /replicas (the autoscaler's desired count). */
  replicaSummary?: () => Record<string, number>
}

const replicaSchema = {
  type: 'object',
  properties: {
    url: { type: 'string' },
    ready: { type: 'boolean', description: 'last readiness probe succeeded' },
    routable: { type: 'boolean', description: 'ready, not draining, not ejected' },
    draining: { type: 'boolean' },
    outstanding: { type: 'integer' },
    slots: { type: 'integer' },
    ewma_latency_ms: { type: ['number', 'null'], description: 'peak-EWMA of upstream latency' },
    dispatched: { type: 'integer' },
    failures: { type: 'integer', description: 'failed attempts, all time' },
    consecutive_failures: { type: 'integer' },
    ejections: { type: 'integer' },
    ejected_until: { type: ['string', 'null'], description: 'ISO time, while ejected' },
    models: { type: 'array', items: { type: 'string' }, description: 'models it serves, its default first' },
  },
} as const

export function registerStatusRoutes(app: FastifyInstance, options: StatusRouteOptions): void {
  const { queue, dispatcher, pool } = options
  const startedAt = Date.now()

  app.get('/queue', {
    schema: {
      summary: 'The gateway queue now',
      response: {
        200: {
          type: 'object',
          properties: {
            size: { type: 'integer' },
            bytes: { type: 'integer' },
            max_size: { type: 'integer' },
            max_bytes: { type: 'integer' },
            lanes: { type: 'object', properties: { normal: { type: 'integer' }, low: { type: 'integer' } } },
            oldest_wait_ms: { type: 'number' },
            workers: { type: 'integer' },
            workers_busy: { type: 'integer' },
          },
        },
      },
    },
    handler: async () => {
      const oldest = queue.oldest()
      return {
        size: queue.size,
        bytes: queue.bytes,
        max_size: queue.limits.maxCount,
        max_bytes: queue.limits.maxBytes,
        lanes: { normal: queue.laneSize('normal'), low: queue.laneSize('low') },
        oldest_wait_ms: oldest ? Math.round(performance.now() - oldest.enqueuedAt) : 0,
        workers: dispatcher.workers,
        workers_busy: dispatcher.busy,
      }
    },
  })

  app.get('/replicas', {
    schema: {
      summary: 'Every replica the gateway knows, with its state',
      response: {
        200: {
          type: 'object',
          properties: {
            replicas: { type: 'array', items: replicaSchema },
            ready: { type: 'integer' },
            total: { type: 'integer' },
            desired: { type: 'integer' },
          },
        },
      },
    },
    handler: async () => {
      const now = Date.now()
      return {
        replicas: pool.all.map((r) => ({
          url: r.url,
          ready: r.ready,
          routable: r.isRoutable(),
          draining: r.draining,
          outstanding: r.outstanding,
          slots: r.slots,
          ewma_latency_ms: r.latencyMs === undefined ? null : Math.round(r.latencyMs * 10) / 10,
          dispatched: r.dispatched,
          failures: r.failures,
          consecutive_failures: r.outlier.consecutiveFailures,
          ejections: r.outlier.ejections,
          ejected_until: r.outlier.ejectedUntil > now ? new Date(r.outlier.ejectedUntil).toISOString() : null,
          models: r.models,
        })),
        ready: pool.readyCount(),
        total: pool.all.length,
        ...options.replicaSummary?.(),
      }
    },
  })

  app.get('/models', {
    schema: {
      summary: 'The models the replicas serve (select one with ?model=NAME or X-Model on POST /predict)',
      response: {
        200: {
          type: 'object',
          required: ['models'],
          properties: {
            models: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'replicas', 'ready'],
                properties: {
                  name: { type: 'string' },
                  replicas: { type: 'integer', description: 'replicas advertising it' },
                  ready: { type: 'integer', description: 'of which routable now' },
                },
              },
            },
          },
        },
      },
    },
    handler: async () => ({
      models: pool.models().map((name) => ({
        name,
        replicas: pool.all.filter((r) => r.models.includes(name)).length,
        ready: pool.readyCount(name),
      })),
    }),
  })

  app.get('/healthz', {
    schema: {
      summary: 'The gateway process is alive',
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            discovery: { type: 'string' },
            replicas_ready: { type: 'integer' },
            uptime_s: { type: 'number' },
          },
        },
      },
    },
    handler: async () => ({
      status: 'ok',
      discovery: options.discovery,
      replicas_ready: pool.readyCount(),
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
    }),
  })

  const readiness = {
    type: 'object',
    properties: { ready: { type: 'boolean' }, reason: { type: 'string' }, replicas_ready: { type: 'integer' } },
  } as const
  app.get('/readyz', {
    schema: {
      summary: 'Ready when at least one replica is ready and the gateway is not shutting down',
      response: { 200: readiness, 503: readiness },
    },
    handler: async (_request, reply) => {
      const ready = pool.readyCount()
      const reason = options.isShuttingDown() ? 'shutting down' : ready === 0 ? 'no replica is ready' : undefined
      return reply
        .code(reason ? 503 : 200)
        .send({ ready: !reason, ...(reason ? { reason } : {}), replicas_ready: ready })
    },
  })
}
