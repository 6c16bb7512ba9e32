import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_STATUS, ServiceError } from '../../../common/errors.ts'
import { timeLeftFromHeaders } from '../../../common/http/deadline.ts'
import { sendError } from '../../../common/http/error-handling.ts'
import { checkMultipartUpload } from '../../../common/http/image-upload.ts'
import { modelQuerySchema, parseModelSelector, requestedModel } from '../../../common/http/model-selection.ts'
import { deadlineHeadersSchema, gatewayPredictionSchema } from '../../../common/prediction-schema.ts'
import {
  type AdmissionSettings,
  admissionRefusal,
  queueFull,
  type Refusal,
  type RequestBudget,
  receivingFull,
  requestBudget,
} from '../admission/admission.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import { Job, type JobOutcome, type Priority, type UpstreamAnswer } from '../queue/job.ts'
import type { ByteReservation, JobQueue, QueueRoom } from '../queue/job-queue.ts'
import type { RequestMetrics } from '../request-metrics.ts'
import type { Brownout, Degraded } from '../versions/brownout.ts'
import type { VersionOutcomeReport } from '../versions/lifecycle.ts'
import type { ModelRouter } from '../versions/model-router.ts'
import { readUpload } from './read-upload.ts'

export interface PredictRoutesOptions extends AdmissionSettings {
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  metrics: RequestMetrics
  /** Largest body accepted (MAX_BODY_BYTES). */
  maxBodyBytes: number
  isShuttingDown: () => boolean
  /** Every prediction request, refused or not: demand, for the autoscaler. */
  onArrival: () => void
  /** The pool is waking from zero: a request finding no ready replica waits for one (admission.ts `wakingFromZero`). */
  wakingUp?: () => boolean
  /** Every prediction request answered, with its status and time at the gateway (the live page's statistics). */
  onAnswered: (statusCode: number, elapsedMs: number, degraded: boolean) => void
  /** Turns `NAME` / `NAME@VERSION` into the version to run. */
  models: ModelRouter
  /** Every queued request whose version is known, when it is answered. */
  onVersionOutcome: (report: VersionOutcomeReport) => void
  /** Answers with a model's fallback what it would not answer in time (absent: refused). */
  brownout?: Brownout
}

const errorResponse = { $ref: 'ErrorBody#' }

const schema = {
  summary: 'Classify one image (queued, then sent to the least-loaded ready replica)',
  description:
    'Same request as a replica’s /predict (multipart field `file`, or raw image bytes). Optional headers: ' +
    '`X-Timeout-Ms` (deadline), `X-Priority: low|normal`, `X-Request-Id`. Every answer has `X-Queue-Size`.',
  consumes: ['multipart/form-data', 'image/*', 'application/octet-stream'],
  querystring: modelQuerySchema,
  headers: {
    ...deadlineHeadersSchema,
    properties: {
      ...deadlineHeadersSchema.properties,
      'x-model': {
        type: 'string',
        maxLength: 129,
        description: 'model to run, NAME or NAME@VERSION (as ?model=); see GET /models',
      },
      'x-priority': {
        type: 'string',
        enum: ['low', 'normal'],
        description: 'low: only served when no normal request waits',
      },
    },
  },
  response: {
    200: gatewayPredictionSchema,
    400: errorResponse,
    404: errorResponse,
    413: errorResponse,
    415: errorResponse,
    502: errorResponse,
    503: errorResponse,
    504: errorResponse,
  },
} as const

declare module 'fastify' {
  interface FastifyRequest {
    admitted: Admitted | null
  }
}

/** What admission decided for a request, for its handler. */
interface Admitted {
  budget: RequestBudget
  /** performance.now() ms: the budget runs from arrival, so reading the body counts against it. */
  deadline: number
  priority: Priority
  model: string | undefined
  /** Its Content-Length; undefined for a chunked body. */
  declaredLength: number | undefined
  /** The queue bytes its body holds while it arrives, released when its job enters the queue or the request ends. */
  reservation: ByteReservation
  /** Brownout: it runs its model's fallback (`model` is the fallback). */
  degraded: Degraded | undefined
}

/** Types read as raw bytes: the gateway does not parse uploads (replicas do). */
const UPLOAD_TYPES = ['multipart/form-data', 'application/octet-stream', /^image\/[\w.+-]+$/]

const NOTHING_TRIED: ReadonlySet<string> = new Set()

/**
 * `POST /predict` and its seed-compatible alias `POST /add_to_queue`: admission (before the body is read), the
 * job's trip through the queue, and the answer. Its hooks and request decoration are scoped to these two routes.
 */
export const predictRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: PredictRoutesOptions }> = async (
  app,
  options,
) => {
  const { queue, dispatcher, pool, metrics } = options
  app.decorateRequest('admitted', null)

  /**
   * The largest body that could ever be admitted: beyond it, a 413 from its Content-Length (or as a chunked body
   * grows past it), not a 503 that a retry could not cure.
   */
  const largestBody = Math.min(options.maxBodyBytes, queue.limits.maxBytes, queue.limits.maxReceivingBytes)
  const tooLarge = (bytes: number, soFar: boolean) =>
    new ServiceError(
      'payload_too_large',
      `the body (${soFar ? 'over ' : ''}${bytes} bytes) is larger than the ${largestBody} bytes the gateway accepts`,
    )

  /**
   * Admission runs on arrival: a full or replica-less gateway refuses a 10 MB upload without reading it. An admitted
   * request's body bytes are reserved in the queue here, so that uploads arriving at once cannot all be admitted
   * against the same room and then read in full only to be refused.
   */
  const admit = (request: FastifyRequest, reply: FastifyReply): ServiceError | undefined => {
    options.onArrival()
    const arrivedAt = performance.now()
    try {
      const contentLength = request.headers['content-length']
      const declaredLength = contentLength === undefined ? undefined : Number(contentLength)
      if (declaredLength !== undefined && declaredLength > largestBody) return tooLarge(declaredLength, false)
      const budget = requestBudget(timeLeftFromHeaders(request.headers), options)
      const priority = parsePriority(request.headers['x-priority'])
      // NAME@VERSION from here on: the canary split is drawn once, at admission.
      const selector = requestedModel(request)
      let model = options.models.resolve(selector)
      const pace = dispatcher.pace()
      const load = {
        shuttingDown: options.isShuttingDown(),
        readyReplicas: pool.readyCount(model),
        wakingUp: options.wakingUp?.() ?? false,
        queueRoom: queue.roomToReceive(priority, declaredLength ?? 0),
        // Low-priority (batch) jobs wait behind a normal request, not ahead of it.
        queued: priority === 'low' ? queue.size : queue.laneSize('normal'),
        replicas: pool.candidates(NOTHING_TRIED, model),
        measuredPace: pace.measured,
        recentPerSecond: pace.perSecond,
      }
      let refusal = admissionRefusal(model, budget, load, options)
      // Brownout: what the model would not answer in time, its fallback may.
      const degraded =
        refusal?.reason === 'would_miss_deadline' ? options.brownout?.choose(selector, model, budget, load) : undefined
      if (degraded) {
        model = degraded.to
        refusal = undefined
      }
      if (refusal) return refused(refusal)
      const reservation = queue.reserve(priority, declaredLength ?? 0)
      // Checked just above, and nothing ran since: a refusal here is a bug, not a full queue.
      if (typeof reservation === 'string') throw new Error(`the queue refused a reservation it had room for`)
      reply.raw.once('close', () => queue.release(reservation))
      request.admitted = {
        budget,
        deadline: arrivedAt + budget.timeoutMs,
        priority,
        model,
        declaredLength,
        reservation,
        degraded,
      }
      return undefined
    } catch (error) {
      return error as ServiceError
    }
  }

  /** Reserves the next chunk of a chunked body, or refuses the body (it is not read further). */
  const reserveMore = (request: FastifyRequest, bytes: number): ServiceError | undefined => {
    const { reservation } = request.admitted!
    if (reservation.bytes + bytes > largestBody) return tooLarge(reservation.bytes + bytes, true)
    const room: QueueRoom = queue.grow(reservation, bytes)
    if (room === 'ok') return undefined
    return refused(room === 'receiving' ? receivingFull() : queueFull(queue.size, dispatcher.pace().perSecond))
  }

  for (const type of UPLOAD_TYPES) {
    app.addContentTypeParser(type, (request, payload, done) => {
      readUpload(payload, request.admitted?.declaredLength, (bytes) => reserveMore(request, bytes)).then(
        (body) => done(null, body),
        (error: Error) => done(error, undefined),
      )
    })
  }

  const refused = (refusal: Refusal): ServiceError => {
    metrics.rejected.inc({ reason: refusal.reason })
    return new ServiceError(refusal.code, refusal.message, refusal.retryAfterSeconds)
  }

  const enqueue = (request: FastifyRequest, reply: FastifyReply, body: Buffer): Job => {
    const admitted = request.admitted!
    const clientGone = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort()
    })
    // Its bytes pass from reserved to queued in one step (submit queues it synchronously): no one can take them between.
    queue.release(admitted.reservation)
    const job = new Job({
      id: request.id,
      body,
      contentType: String(request.headers['content-type']),
      model: admitted.model,
      priority: admitted.priority,
      deadline: admitted.deadline,
      clientGone: clientGone.signal,
    })
    if (dispatcher.submit(job) !== 'ok') {
      const { code, message, retryAfterSeconds } = refused(queueFull(queue.size, dispatcher.pace().perSecond))
      job.settle({ kind: 'error', code, message, retryAfterSeconds })
    }
    return job
  }

  /**
   * The replica's prediction, plus where and how long it waited: `queue_size`, `replica`, gateway timings. Built in
   * the object just parsed (it is this request's own), rather than copied into a new one.
   */
  const gatewayAnswer = (
    prediction: ReplicaPrediction,
    answer: UpstreamAnswer,
    job: Job,
    elapsedMs: number,
    degraded: Degraded | undefined,
  ) => {
    const replicaTimings = prediction.timing_ms
    const timings = typeof replicaTimings === 'object' && replicaTimings !== null ? replicaTimings : {}
    const replicaTotal = timings.total
    prediction.replica_id = prediction.replica
    prediction.replica = answer.replica
    prediction.queue_size = queue.size
    timings.replica_total = replicaTotal
    timings.gateway_queue = round(job.queueMs)
    timings.upstream = round(answer.upstreamMs)
    timings.total = round(elapsedMs)
    prediction.timing_ms = timings
    prediction.degraded = degraded !== undefined
    if (degraded) prediction.degraded_from = degraded.from
    return prediction
  }

  app.addHook('onRequest', (request, reply, done) => done(admit(request, reply)))
  // A refusal for lack of room (503, 413) sent before the body was read in full closes the connection: under a burst
  // the rest of the body is not read at all, and the client learns at once that it need not send it. Other early
  // answers (a 400 on a header, a 401) leave the rest to the service app's drain, which keeps the connection.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete && (reply.statusCode === 503 || reply.statusCode === 413)) {
      reply.header('connection', 'close')
    }
    done(null, payload)
  })
  /** The `{status}` label of each status code, made once (this runs for every request). */
  const statusLabels = new Map<number, { status: string }>()
  app.addHook('onResponse', (request, reply, done) => {
    done()
    const { statusCode } = reply
    const elapsedMs = reply.elapsedTime
    const degraded = statusCode === 200 ? request.admitted?.degraded : undefined
    options.onAnswered(statusCode, elapsedMs, degraded !== undefined)
    if (degraded) metrics.degradedAnswers.inc({ model: degraded.model, fallback: degraded.to })
    let labels = statusLabels.get(statusCode)
    if (!labels) {
      labels = { status: String(statusCode) }
      statusLabels.set(statusCode, labels)
    }
    metrics.requests.inc(labels)
    metrics.requestSeconds.observe(labels, elapsedMs / 1000)
    if (statusCode === 413) metrics.rejected.inc({ reason: 'too_large' })
  })

  for (const url of ['/predict', '/add_to_queue']) {
    app.post(url, {
      schema: url === '/predict' ? schema : { ...schema, summary: 'Alias of POST /predict (the seed API)' },
      config: { accessLog: true, role: 'predict' },
      handler: async (request, reply) => {
        const body = request.body
        if (!Buffer.isBuffer(body) || body.length === 0) {
          throw new ServiceError('empty_body', 'the request has no image: send multipart/form-data with a "file" field')
        }
        // A body no replica would accept is the client's error, refused here: it takes no place in the queue and is
        // never counted against a replica.
        if (/^multipart\/form-data\b/i.test(String(request.headers['content-type']))) {
          await checkMultipartUpload(body, request.headers)
        }
        const job = enqueue(request, reply, body)
        const outcome = await job.outcome
        const degraded = request.admitted?.degraded
        request.logFields = {
          attempts: job.attempts,
          gateway_queue_ms: round(job.queueMs),
          model: job.model,
          ...(degraded && { degraded_from: degraded.from }),
        }
        // Parsed once, for the version it names and for the answer.
        const prediction =
          outcome.kind === 'answer' && outcome.answer.status === 200 ? parsePrediction(outcome.answer.body) : undefined
        reportVersionOutcome(job, outcome, prediction, options.onVersionOutcome)
        if (outcome.kind === 'error') {
          return sendError(request, reply, new ServiceError(outcome.code, outcome.message, outcome.retryAfterSeconds))
        }
        if (outcome.answer.status !== 200) {
          // The replica's own error about this input (4xx) or its 504: passed on as it is (the status is the replica's,
          // so it is not one the schema can list).
          return reply
            .code(outcome.answer.status as 400)
            .type('application/json; charset=utf-8')
            .send(outcome.answer.body)
        }
        // A 200 that is not JSON is the replica's bug: a 500 (internal), as a parse failure always was here.
        if (!prediction) throw new Error('the replica answered 200 with a body that is not a JSON object')
        return reply.send(gatewayAnswer(prediction, outcome.answer, job, reply.elapsedTime, request.admitted?.degraded))
      },
    })
  }
}

/**
 * Which version a finished job ran and whether it failed it. An answer names its version (a request for the default
 * model learns it only there); a failure is the version's when it reached a replica (a 5xx, no answer, every replica
 * failing), not when the gateway shed it or the client left.
 */
function reportVersionOutcome(
  job: Job,
  outcome: JobOutcome,
  prediction: ReplicaPrediction | undefined,
  report: (r: VersionOutcomeReport) => void,
): void {
  const chosen = job.model?.includes('@') ? parseModelSelector(job.model) : undefined
  if (outcome.kind === 'answer') {
    const { status, upstreamMs } = outcome.answer
    const ran = prediction ? modelOf(prediction) : undefined
    const version = ran ?? (chosen?.version === undefined ? undefined : { name: chosen.name, version: chosen.version })
    if (!version) return
    report({ model: version.name, version: version.version, status, failed: status >= 500, upstreamMs })
    return
  }
  if (chosen?.version === undefined) return
  const reachedReplica =
    job.attempts > 0 && (outcome.code === 'upstream_failed' || outcome.code === 'deadline_exceeded')
  report({ model: chosen.name, version: chosen.version, status: ERROR_STATUS[outcome.code], failed: reachedReplica })
}

/** A replica's 200 answer as far as the gateway reads it; the rest passes through. */
interface ReplicaPrediction {
  model?: { name?: unknown; version?: unknown }
  replica?: unknown
  timing_ms?: Record<string, unknown>
  [field: string]: unknown
}

function parsePrediction(body: Buffer): ReplicaPrediction | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'))
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as ReplicaPrediction)
      : undefined
  } catch {
    return undefined
  }
}

function modelOf(prediction: ReplicaPrediction): { name: string; version: string } | undefined {
  const { model } = prediction
  return typeof model?.name === 'string' && typeof model.version === 'string'
    ? { name: model.name, version: model.version }
    : undefined
}

/** Checked here, not by the schema: admission runs on arrival, before validation. */
function parsePriority(header: string | string[] | undefined): Priority {
  if (header === undefined) return 'normal'
  if (header === 'low' || header === 'normal') return header
  throw new ServiceError('invalid_header', 'X-Priority must be "low" or "normal"')
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
