import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { STAGES } from '../../../common/model-registry/state.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import { replicaViewRef, type WithReplicaView } from '../pool/replica-view.ts'
import type { Job } from '../queue/job.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import type { ModelRouter } from '../versions/model-router.ts'

const gateVerdict = {
  type: 'object',
  required: ['passed', 'at'],
  properties: {
    passed: { type: 'boolean' },
    at: { type: 'string' },
    summary: { type: 'string' },
    baseline: { type: 'string' },
  },
} as const

const versionView = {
  type: 'object',
  required: ['version', 'stage', 'weight', 'replicas', 'ready'],
  properties: {
    version: { type: 'string' },
    stage: { type: 'string', enum: STAGES },
    weight: { type: 'number', description: 'share of ?model=NAME requests it gets' },
    replicas: { type: 'integer', description: 'replicas advertising it' },
    ready: { type: 'integer', description: 'of which routable now' },
    implicit: {
      type: 'boolean',
      description: 'production because the registry names none and it is the newest served',
    },
    gate: gateVerdict,
    rolled_back: { type: 'object', properties: { at: { type: 'string' }, reason: { type: 'string' } } },
  },
} as const

export interface StatusRoutesOptions {
  models: ModelRouter
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  discovery: string
  isShuttingDown: () => boolean
  /** Extra fields for GET /replicas (the autoscaler's desired count). */
  replicaSummary?: () => Record<string, number>
  /**
   * The pool is asleep and wakes on demand (MIN_REPLICAS=0): the gateway stays ready with no replica, or no request
   * would ever reach it to wake one.
   */
  wakingUp?: () => boolean
}

/** The gateway's state for people and probes: `/queue`, `/replicas`, `/models`, `/healthz`, `/readyz`. */
export const statusRoutes: FastifyPluginAsyncJsonSchemaToTs<{
  Options: StatusRoutesOptions
  SerializerSchemaOptions: WithReplicaView
}> = async (app, options) => {
  const { queue, dispatcher, pool } = options
  const startedAt = Date.now()

  app.get('/queue', {
    config: { role: 'admin' },
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
        // Named when the in-flight cap was WORKERS (now MAX_IN_FLIGHT_TO_REPLICAS): clients of GET /queue read these names.
        workers: dispatcher.maxInFlight,
        workers_busy: dispatcher.busy,
      }
    },
  })

  app.get('/replicas', {
    config: { role: 'admin' },
    schema: {
      summary: 'Every replica the gateway knows, with its state',
      response: {
        200: {
          type: 'object',
          properties: {
            replicas: { type: 'array', items: replicaViewRef },
            ready: { type: 'integer' },
            total: { type: 'integer' },
            desired: { type: 'integer' },
          },
        },
      },
    },
    handler: async () => {
      return {
        replicas: pool.snapshot(),
        ready: pool.readyCount(),
        total: pool.all.length,
        ...options.replicaSummary?.(),
      }
    },
  })

  app.get('/models', {
    config: { role: 'admin' },
    schema: {
      summary:
        'The models the replicas serve and the registry lists, each version with its stage and traffic weight (select one with ?model=NAME[@VERSION] or X-Model on POST /predict)',
      response: {
        200: {
          type: 'object',
          required: ['models'],
          properties: {
            models: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'replicas', 'ready', 'versions'],
                properties: {
                  name: { type: 'string' },
                  replicas: { type: 'integer', description: 'replicas advertising it' },
                  ready: { type: 'integer', description: 'of which routable now' },
                  production: {
                    type: 'string',
                    description: 'the version ?model=NAME runs (but for the canary share)',
                  },
                  canary: {
                    type: 'object',
                    required: ['version', 'weight'],
                    properties: { version: { type: 'string' }, weight: { type: 'number' } },
                  },
                  fallback: {
                    type: 'string',
                    description:
                      'brownout: NAME@VERSION answering (degraded) requests the model would not answer in time',
                  },
                  versions: { type: 'array', items: versionView },
                },
              },
            },
          },
        },
      },
    },
    handler: async () => {
      const views = new Map(options.models.views().map((view) => [view.name, view]))
      // Served models first, in the order replicas list them; then models only the registry knows.
      const names = [...new Set([...pool.models(), ...views.keys()])]
      return {
        models: names.map((name) => {
          const view = views.get(name)
          return {
            name,
            replicas: pool.all.filter((r) => r.models.includes(name)).length,
            ready: pool.readyCount(name),
            ...(view?.split && { production: view.split.production }),
            ...(view?.split?.canary && { canary: view.split.canary }),
            ...(view?.fallback && { fallback: view.fallback }),
            versions: view?.versions ?? [],
          }
        }),
      }
    },
  })

  // Probes (Kubernetes, compose, other gateways) carry no token.
  app.get('/healthz', {
    config: { role: 'open' },
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
    config: { role: 'open' },
    schema: {
      summary:
        'Ready when at least one replica is ready (or, scaled to zero, one is woken on demand) and the gateway is not shutting down',
      response: { 200: readiness, 503: readiness },
    },
    handler: async (_request, reply) => {
      const ready = pool.readyCount()
      const reason = options.isShuttingDown()
        ? 'shutting down'
        : ready === 0 && !options.wakingUp?.()
          ? 'no replica is ready'
          : undefined
      return reply
        .code(reason ? 503 : 200)
        .send({ ready: !reason, ...(reason ? { reason } : {}), replicas_ready: ready })
    },
  })
}
