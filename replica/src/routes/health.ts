import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { compareVersions } from '../../../common/http/model-selection.ts'
import { modelRefSchema } from '../../../common/prediction-schema.ts'
import { type ReplicaReadiness, replicaReadinessSchema } from '../../../common/readiness-schema.ts'
import type { ModelInfo } from '../model/provision.ts'
import { untrainedWarning } from '../model/provision.ts'
import type { ReplicaState } from '../replica-state.ts'

interface HealthRouteOptions {
  state: ReplicaState
  /** The default model first. */
  models: readonly ModelInfo[]
  replicaId: string
  queued: () => number
  onFirstReadyAnswer?: (atMs: number) => void
}

const modelDetails = {
  ...modelRefSchema,
  properties: {
    ...modelRefSchema.properties,
    source: { type: 'string', enum: ['path', 'cache', 'download', 'generated', 'manifest', 'converted'] },
    sha256: { type: 'string' },
    default: { type: 'boolean' },
    warning: { type: 'string' },
  },
} as const

const versionDetails = {
  type: 'object',
  required: ['version', 'pretrained', 'weight'],
  properties: {
    version: { type: 'string' },
    pretrained: { type: 'boolean' },
    source: modelDetails.properties.source,
    sha256: { type: 'string' },
    weight: {
      type: 'number',
      description: 'share of ?model=NAME requests it gets here: 1 for the newest version, 0 for the others',
    },
    warning: { type: 'string' },
  },
} as const

const ms = { type: 'number' } as const
const startupSchema = {
  type: 'object',
  description:
    'Where the start-up went, ms: each phase, total_ms = process start to ready, first_ready_answer_ms = process start to the first 200 of /readyz',
  required: ['model_load_ms', 'runtime_ms', 'session_ms', 'engines_ms', 'server_ms', 'warmup_ms', 'total_ms', 'models'],
  properties: {
    process_ms: ms,
    imports_ms: ms,
    model_load_ms: ms,
    runtime_ms: ms,
    session_ms: ms,
    engines_ms: ms,
    server_ms: ms,
    warmup_ms: ms,
    total_ms: ms,
    cpu_ms: ms,
    main_thread_cpu_ms: ms,
    first_ready_answer_ms: ms,
    models: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'version', 'session_ms', 'optimized_cache'],
        properties: {
          name: { type: 'string' },
          version: { type: 'string' },
          session_ms: ms,
          optimized_cache: { type: 'string', enum: ['hit', 'miss', 'off'] },
        },
      },
    },
  },
} as const

/** `GET /healthz`, `/models` and `/readyz`: a plugin, its route types from its schemas. */
export const healthRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: HealthRouteOptions }> = async (app, options) => {
  const { state, models, replicaId, queued, onFirstReadyAnswer } = options
  const startedAt = Date.now()
  const [defaultModel] = models as [ModelInfo]
  const ref = (model: ModelInfo) => ({ name: model.name, version: model.version, pretrained: model.pretrained })
  const details = (model: ModelInfo) => {
    const warning = untrainedWarning(model)
    return {
      ...ref(model),
      source: model.source,
      sha256: model.sha256,
      default: model === defaultModel,
      ...(warning && { warning }),
    }
  }

  app.get('/healthz', {
    config: { role: 'open' },
    schema: {
      summary: 'Liveness, and what model this replica serves by default',
      response: {
        200: {
          type: 'object',
          required: ['status', 'replica', 'model', 'uptime_s'],
          properties: {
            status: { type: 'string', enum: ['ok'] },
            replica: { type: 'string' },
            model: modelDetails,
            models: { type: 'array', items: modelDetails },
            warning: { type: 'string' },
            uptime_s: { type: 'number' },
            startup: startupSchema,
          },
        },
      },
    },
    handler: async () => {
      const warning = untrainedWarning(defaultModel)
      return {
        status: 'ok' as const,
        replica: replicaId,
        model: details(defaultModel),
        models: models.map(details),
        ...(warning && { warning }),
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        ...(state.startup && {
          startup: {
            ...state.startup,
            ...(state.firstReadyAnswerMs !== undefined && {
              first_ready_answer_ms: Math.round(state.firstReadyAnswerMs * 10) / 10,
            }),
          },
        }),
      }
    },
  })

  app.get('/models', {
    config: { role: 'admin' },
    schema: {
      summary: 'The models this replica serves (select one with ?model=NAME or X-Model on POST /predict)',
      response: {
        200: {
          type: 'object',
          required: ['default', 'models'],
          properties: {
            default: { type: 'string' },
            models: {
              type: 'array',
              description:
                'one entry per model (the fields of the version ?model=NAME gets), with every version served',
              items: {
                ...modelDetails,
                required: [...modelDetails.required, 'versions'],
                properties: { ...modelDetails.properties, versions: { type: 'array', items: versionDetails } },
              },
            },
          },
        },
      },
    },
    handler: async () => {
      const names = [...new Set(models.map((m) => m.name))]
      return {
        default: defaultModel.name,
        models: names.map((name) => {
          const versions = models.filter((m) => m.name === name).sort((a, b) => compareVersions(a.version, b.version))
          const newest = versions.at(-1)!
          return {
            ...details(newest),
            versions: versions.map((m) => {
              const { name: _name, default: _default, ...version } = details(m)
              return { ...version, weight: m === newest ? 1 : 0 }
            }),
          }
        }),
      }
    },
  })

  app.get('/readyz', {
    config: { role: 'open' },
    schema: {
      summary: 'Ready for traffic: 200 after a warm-up inference, 503 before it and while draining',
      response: { 200: replicaReadinessSchema, 503: replicaReadinessSchema },
    },
    handler: async (_request, reply) => {
      const reason = state.draining ? 'draining' : state.warm ? undefined : 'warming up'
      if (!reason && state.firstReadyAnswerMs === undefined) {
        state.firstReadyAnswerMs = performance.now()
        onFirstReadyAnswer?.(state.firstReadyAnswerMs)
      }
      const body: ReplicaReadiness = {
        ready: reason === undefined,
        ...(reason ? { reason } : {}),
        replica: replicaId,
        inflight: state.inflight,
        queue: Math.max(0, queued()),
        models: models.map(ref),
      }
      return reply.code(reason ? 503 : 200).send(body)
    },
  })
}
