import type { IncomingMessage } from 'node:http'
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { ServiceError } from '../../../common/errors.ts'
import { timeLeftFromHeaders } from '../../../common/http/deadline.ts'
import { toServiceError } from '../../../common/http/error-handling.ts'
import {
  compareVersions,
  modelQuerySchema,
  modelVersionKey,
  printableModelName,
  requestedModel,
} from '../../../common/http/model-selection.ts'
import { REPLICA_LOAD_HEADERS } from '../../../common/http/replica-protocol.ts'
import { deadlineHeadersSchema, predictionSchema } from '../../../common/prediction-schema.ts'
import { DroppedWork } from '../dropped-work.ts'
import type { ReplicaMetrics } from '../metrics.ts'
import { untrainedWarning } from '../model/provision.ts'
import type { Predictor } from '../predictor.ts'
import { readImageUpload } from '../read-image.ts'
import type { ReplicaState } from '../replica-state.ts'

interface PredictRouteOptions {
  state: ReplicaState
  /** The default model first. */
  models: readonly Predictor[]
  metrics: ReplicaMetrics
  replicaId: string
  maxQueue: number
  /** Requests held at once (admitted, unanswered) before refusing with replica_full. */
  maxInflight: number
  queued: () => number
  /** Whether a request's headers arrived before draining began (such a request is answered, not refused). */
  arrivedBeforeDrain: (request: IncomingMessage) => boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() value after which the request is no longer worth answering. */
    deadline: number
    /** Aborted when the connection closes before the answer was sent. */
    clientGone: AbortController | null
    /** The model this request asked for. */
    predictor: Predictor | null
  }
}

const errorResponse = { $ref: 'ErrorBody#' }

/**
 * `POST /predict`: a plugin with its own scope (the request decorations are its own), its route types from its
 * schemas.
 */
export const predictRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: PredictRouteOptions }> = async (
  app,
  options,
) => {
  const { state, models, metrics, replicaId, maxQueue, maxInflight, queued, arrivedBeforeDrain } = options
  const { byName, byVersion } = predictorsBySelector(models)
  const [defaultModel] = models as [Predictor]
  app.decorateRequest('deadline', Number.POSITIVE_INFINITY)
  app.decorateRequest('clientGone', null)
  app.decorateRequest('predictor', null)

  app.post('/predict', {
    config: { accessLog: true, role: 'predict' },
    schema: {
      summary: 'Classify one image',
      description:
        'multipart/form-data with the image in field `file` (or `image`), or the raw image bytes with an image/* content type.',
      consumes: ['multipart/form-data', 'image/*', 'application/octet-stream'],
      querystring: modelQuerySchema,
      headers: deadlineHeadersSchema,
      response: {
        200: predictionSchema,
        400: errorResponse,
        404: errorResponse,
        413: errorResponse,
        415: errorResponse,
        503: {
          ...errorResponse,
          description:
            'code `replica_full`: it already holds MAX_INFLIGHT requests (from every gateway together); refused at once, before the body is read, with its count in X-Replica-Inflight, so a gateway tries another replica or waits. `queue_full`: more than MAX_QUEUE wait beyond the running batch. `shutting_down`: it is draining. Each with Retry-After.',
        },
        504: errorResponse,
      },
    },
    // Admission runs before the body is read, so an overloaded replica refuses a 10 MB upload cheaply.
    onRequest: async (request, reply) => {
      if (state.draining && !arrivedBeforeDrain(request.raw))
        throw new ServiceError('shutting_down', 'replica is shutting down', 1)
      const name = requestedModel(request)
      const predictor = name === undefined ? defaultModel : (byVersion.get(name) ?? byName.get(name))
      if (!predictor) {
        metrics.requests.inc({ status: '404', code: 'unknown_model', model: '' })
        throw new ServiceError(
          'unknown_model',
          `no model or version named '${printableModelName(name!)}' here; see GET /models`,
        )
      }
      request.predictor = predictor
      // The cheapest refusal there is (no body read, no model work): a gateway takes it as "not free" and learns
      // the count from X-Replica-Inflight, so several gateways never pile work onto one replica's queue.
      if (state.inflight >= maxInflight) {
        metrics.requests.inc({ status: '503', code: 'replica_full', model: predictor.model.name })
        const seconds = (state.inflight * predictor.msPerImage) / 1000
        // When a place should free: a gateway retries then, rather than guessing (and leaving the replica idle).
        reply.header(REPLICA_LOAD_HEADERS.freeInMs, String(Math.round(expectedFreeInMs(predictor, performance.now()))))
        throw new ServiceError('replica_full', `replica is full (${state.inflight} requests in flight)`, seconds)
      }
      if (queued() >= maxQueue) {
        const seconds = ((queued() + 1) * predictor.msPerImage) / 1000
        metrics.requests.inc({ status: '503', code: 'queue_full', model: predictor.model.name })
        throw new ServiceError('queue_full', `replica queue is full (${maxQueue} waiting)`, seconds)
      }
      const timeLeft = timeLeftFromHeaders(request.headers)
      if (timeLeft !== undefined) request.deadline = performance.now() + timeLeft
      state.inflight++
      const clientGone = new AbortController()
      request.clientGone = clientGone
      reply.raw.once('close', () => {
        state.inflight--
        if (!reply.raw.writableFinished) clientGone.abort()
      })
    },
    handler: async (request, reply) => {
      const started = performance.now()
      const predictor = request.predictor ?? defaultModel
      const model = predictor.model
      try {
        const image = await readImageUpload(request)
        const prediction = await predictor.predict(image, request.deadline, request.clientGone?.signal)
        const best = prediction.top5[0]!
        const total = performance.now() - started
        metrics.preprocessSeconds.observe(prediction.timing.preprocess / 1000)
        metrics.queueSeconds.observe(prediction.timing.queue / 1000)
        metrics.inferenceSeconds.observe(prediction.timing.inference / 1000)
        metrics.batchSize.observe(prediction.batchSize)
        metrics.requestSeconds.observe(total / 1000)
        metrics.requests.inc({ status: '200', code: '', model: model.name })
        const timing_ms = { ...roundAll(prediction.timing), total: round(total) }
        request.logFields = { timing_ms, class_index: best.class_index, batch_size: prediction.batchSize }
        return reply.send({
          prediction: `${best.label}: ${(best.confidence * 100).toFixed(2)}%`,
          label: best.label,
          class_index: best.class_index,
          confidence: best.confidence,
          top5: prediction.top5,
          model: { name: model.name, version: model.version, pretrained: model.pretrained },
          timing_ms,
          batch_size: prediction.batchSize,
          replica: replicaId,
          request_id: request.id,
          ...(!model.pretrained && { warning: untrainedWarning(model) }),
        })
      } catch (error) {
        if (error instanceof DroppedWork) metrics.dropped.inc({ stage: error.stage, reason: error.code })
        const serviceError = toServiceError(error)
        metrics.requests.inc({ status: String(serviceError.statusCode), code: serviceError.code, model: model.name })
        throw serviceError.code === 'internal' ? error : serviceError
      }
    },
  })
}

/**
 * `NAME@VERSION` finds exactly that version; `NAME` finds the model's newest version here (a gateway always names the
 * version it chose, so this matters only to clients calling a replica directly).
 */
export function predictorsBySelector(models: readonly Predictor[]): {
  byName: Map<string, Predictor>
  byVersion: Map<string, Predictor>
} {
  const byVersion = new Map(models.map((p) => [modelVersionKey(p.model.name, p.model.version), p]))
  const byName = new Map<string, Predictor>()
  for (const predictor of models) {
    const current = byName.get(predictor.model.name)
    if (!current || compareVersions(predictor.model.version, current.model.version) > 0) {
      byName.set(predictor.model.name, predictor)
    }
  }
  return { byName, byVersion }
}

/**
 * How long until a request here is answered and its place frees: the running batch's expected end (msPerImage per
 * image), or one image's time when none runs yet (requests still being read or preprocessed).
 */
export function expectedFreeInMs(predictor: Predictor, now: number): number {
  const { running, runningSince } = predictor.batcher
  if (running === 0) return predictor.msPerImage
  return Math.max(0, runningSince + running * predictor.msPerImage - now)
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

function roundAll<T extends Record<string, number>>(timings: T): T {
  return Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, round(v)])) as T
}
