import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { LiveStats } from '../live-stats.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import { replicaViewRef, type WithReplicaView } from '../pool/replica-view.ts'
import type { Job } from '../queue/job.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import { type LiveVersion, liveVersionSchema } from '../versions/live-version.ts'

export interface LiveRouteOptions {
  stats: LiveStats
  queue: JobQueue<Job>
  pool: ReplicaPool
  desired: () => number
  sloMs: number
  /** Each model version in traffic or with requests in the window: stage, weight and how it did. */
  versions: () => LiveVersion[]
}

const nullableNumber = { type: ['number', 'null'] } as const

const liveSchema = {
  type: 'object',
  required: [
    'now',
    'slo_ms',
    'queue',
    'rps',
    'minute',
    'seconds',
    'replicas',
    'ready',
    'desired',
    'models',
    'versions',
  ],
  properties: {
    now: { type: 'number', description: 'epoch ms' },
    slo_ms: { type: 'number', description: 'the latency objective the page draws' },
    queue: {
      type: 'object',
      required: ['size', 'bytes', 'max_size'],
      properties: { size: { type: 'integer' }, bytes: { type: 'integer' }, max_size: { type: 'integer' } },
    },
    rps: { type: 'number', description: 'answers in the last complete second' },
    minute: {
      type: 'object',
      required: ['answered', 'degraded', 'p50', 'p99'],
      properties: {
        answered: { type: 'integer' },
        degraded: { type: 'integer', description: 'of the 200s, answered by a fallback (brownout)' },
        p50: nullableNumber,
        p99: nullableNumber,
      },
    },
    seconds: {
      type: 'array',
      description: 'the last 60 s, oldest first; latency percentiles in ms over successful answers',
      items: {
        type: 'object',
        required: ['t', 'answered', 'ok', 'degraded', 'p50', 'p99', 'queue', 'ready', 'desired'],
        additionalProperties: false,
        properties: {
          t: { type: 'number' },
          answered: { type: 'integer' },
          ok: { type: 'integer' },
          degraded: { type: 'integer', description: 'of the 200s, answered by a fallback (brownout)' },
          p50: nullableNumber,
          p99: nullableNumber,
          queue: { type: ['integer', 'null'] },
          ready: { type: ['integer', 'null'] },
          desired: { type: ['integer', 'null'] },
        },
      },
    },
    replicas: { type: 'array', items: replicaViewRef },
    ready: { type: 'integer' },
    desired: { type: 'integer' },
    models: { type: 'array', items: { type: 'string' } },
    versions: {
      type: 'array',
      description:
        'model versions with traffic weight or requests in the canary window (CANARY_WINDOW_S): production and candidate side by side',
      items: liveVersionSchema,
    },
  },
} as const

/** `GET /live`: everything the web page's live panel draws, in one small JSON polled once a second. */
export const liveRoute: FastifyPluginAsyncJsonSchemaToTs<{
  Options: LiveRouteOptions
  SerializerSchemaOptions: WithReplicaView
}> = async (app, options) => {
  const { stats, queue, pool } = options
  // What the web page shows beside its upload: aggregate figures, no address; as open as predictions.
  app.get('/live', {
    config: { role: 'predict' },
    schema: {
      summary: 'Live view for the web page: queue, rates, latency over the last minute, replicas',
      response: { 200: liveSchema },
    },
    handler: async () => {
      const now = Date.now()
      const snapshot = stats.snapshot(now)
      const lastComplete = snapshot.seconds[snapshot.seconds.length - 2]
      return {
        now,
        slo_ms: options.sloMs,
        queue: { size: queue.size, bytes: queue.bytes, max_size: queue.limits.maxCount },
        rps: lastComplete?.answered ?? 0,
        minute: snapshot.minute,
        seconds: snapshot.seconds,
        replicas: pool.snapshot(),
        ready: pool.readyCount(),
        desired: options.desired(),
        models: pool.models(),
        versions: options.versions(),
      }
    },
  })
}
