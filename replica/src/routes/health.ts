import type { FastifyInstance } from 'fastify'
import { modelRefSchema } from '../../../common/prediction-schema.ts'
import type { ModelInfo } from '../model/provision.ts'
import { UNTRAINED_WARNING } from '../model/provision.ts'
import type { ReplicaState } from '../server.ts'

interface HealthRouteOptions {
  state: ReplicaState
  model: ModelInfo
  replicaId: string
  queued: () => number
}

const modelDetails = {
  ...modelRefSchema,
  properties: {
    ...modelRefSchema.properties,
    source: { type: 'string', enum: ['path', 'cache', 'download', 'generated'] },
    sha256: { type: 'string' },
  },
} as const

const readiness = {
  type: 'object',
  required: ['ready', 'inflight', 'queue'],
  properties: {
    ready: { type: 'boolean' },
    reason: { type: 'string' },
    replica: { type: 'string' },
    inflight: { type: 'integer' },
    queue: { type: 'integer' },
    models: { type: 'array', items: modelRefSchema },
  },
} as const

export function registerHealthRoutes(app: FastifyInstance, options: HealthRouteOptions): void {
  const { state, model, replicaId, queued } = options
  const startedAt = Date.now()
  const modelRef = { name: model.name, version: model.version, pretrained: model.pretrained }

  app.get('/healthz', {
    schema: {
      summary: 'Liveness, and what model this replica serves',
      response: {
        200: {
          type: 'object',
          required: ['status', 'replica', 'model', 'uptime_s'],
          properties: {
            status: { type: 'string', enum: ['ok'] },
            replica: { type: 'string' },
            model: modelDetails,
            warning: { type: 'string' },
            uptime_s: { type: 'number' },
          },
        },
      },
    },
    handler: async () => ({
      status: 'ok',
      replica: replicaId,
      model: { ...modelRef, source: model.source, sha256: model.sha256 },
      ...(model.pretrained ? {} : { warning: UNTRAINED_WARNING }),
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
    }),
  })

  app.get('/readyz', {
    schema: {
      summary: 'Ready for traffic: 200 after a warm-up inference, 503 before it and while draining',
      response: { 200: readiness, 503: readiness },
    },
    handler: async (_request, reply) => {
      const reason = state.draining ? 'draining' : state.warm ? undefined : 'warming up'
      const body = {
        ready: reason === undefined,
        ...(reason ? { reason } : {}),
        replica: replicaId,
        inflight: state.inflight,
        queue: Math.max(0, queued()),
        models: [modelRef],
      }
      return reply.code(reason ? 503 : 200).send(body)
    },
  })
}
