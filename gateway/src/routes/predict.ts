import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServiceError } from '../../../common/errors.ts'
import { deadlineFromHeaders } from '../../../common/http/deadline.ts'
import { sendError } from '../../../common/http/error-handling.ts'
import { modelQuerySchema, printableModelName, requestedModel } from '../../../common/http/model-selection.ts'
import { deadlineHeadersSchema, predictionProperties, predictionRequired } from '../../../common/prediction-schema.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { GatewayMetrics } from '../metrics.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import { expectedAnswer } from '../queue/expected-wait.ts'
import type { Job, JobOutcome, Priority, UpstreamAnswer } from '../queue/job.ts'
import type { JobQueue } from '../queue/job-queue.ts'

export interface PredictRouteOptions {
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  metrics: GatewayMetrics
  /** Deadline of a request that names none (X-Timeout-Ms): how long it may wait for its answer. */
  defaultTimeoutMs: number
  /**
   * Admission budget of a request that names no deadline: admitted only if its answer is expected within the SLO.
   * Under overload this keeps the queue short enough that what is accepted meets the SLO, and the rest is refused
   * at once with Retry-After, instead of everyone waiting seconds.
   */
  sloMs: number
  isShuttingDown: () => boolean
  /** Every prediction request, refused or not: demand, for the autoscaler. */
  onArrival: () => void
}

const gatewayPrediction = {
  type: 'object',
  required: [...predictionRequired, 'queue_size', 'replica'],
  properties: {
    ...predictionProperties,
    queue_size: { type: 'integer', description: 'requests waiting in the gateway queue when this one was answered' },
    replica: { type: 'string', description: 'URL of the replica that served it' },
    replica_id: { type: 'string', description: 'the name the replica gives itself' },
    timing_ms: {
      type: 'object',
      required: ['gateway_queue', 'upstream', 'total'],
      properties: {
        ...predictionProperties.timing_ms.properties,
        gateway_queue: { type: 'number', description: 'waiting in the gateway queue (all attempts)' },
        upstream: { type: 'number', description: 'the answering replica, network included' },
        replica_total: { type: 'number', description: 'the replica’s own total' },
        total: { type: 'number', description: 'end to end at the gateway' },
      },
    },
  },
} as const

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
      'x-model': { type: 'string', maxLength: 64, description: 'model to run (as ?model=); see GET /models' },
      'x-priority': {
        type: 'string',
        enum: ['low', 'normal'],
        description: 'low: only served when no normal request waits',
      },
    },
  },
  response: {
    200: gatewayPrediction,
    400: errorResponse,
    404: errorResponse,
    413: errorResponse,
    415: errorResponse,
    502: errorResponse,
    503: errorResponse,
    504: errorResponse,
  },
}

declare module 'fastify' {
  interface FastifyRequest {
    admitted: { deadline: number; priority: Priority; model: string | undefined } | null
  }
}

/** `POST /predict` and its seed-compatible alias `POST /add_to_queue`: admission, queueing, the answer. */
export function registerPredictRoutes(app: FastifyInstance, options: PredictRouteOptions): void {
  const route = new PredictRoute(options)
  app.decorateRequest('admitted', null)
  for (const url of ['/predict', '/add_to_queue']) {
    app.post(url, {
      schema: url === '/predict' ? schema : { ...schema, summary: 'Alias of POST /predict (the seed API)' },
      onRequest: (request, _reply, done) => done(route.admit(request)),
      handler: (request, reply) => route.handle(request, reply),
    })
  }
}

const NOTHING_TRIED: ReadonlySet<string> = new Set()
/** Share of its remaining budget a request's expected answer time may use for it to be admitted. */
const ADMISSION_HEADROOM = 0.8

class PredictRoute {
  readonly #options: PredictRouteOptions

  constructor(options: PredictRouteOptions) {
    this.#options = options
  }

  /**
   * Admission runs before the body is read: a full or replica-less gateway refuses a 10 MB upload without
   * reading it. Returns the refusal, if any.
   */
  admit(request: FastifyRequest): ServiceError | undefined {
    const { queue, pool, isShuttingDown, defaultTimeoutMs, sloMs } = this.#options
    this.#options.onArrival()
    try {
      if (isShuttingDown()) return this.#reject('shutting_down', 'the gateway is shutting down', 1)
      const now = performance.now()
      const deadlineEpoch = deadlineFromHeaders(request.headers, Date.now())
      const deadline = deadlineEpoch === undefined ? now + defaultTimeoutMs : now + (deadlineEpoch - Date.now())
      const budget = deadlineEpoch === undefined ? Math.min(sloMs, defaultTimeoutMs) : deadline - now
      const priority = parsePriority(request.headers['x-priority'])
      const model = requestedModel(request)
      if (model !== undefined && !pool.models().includes(model)) {
        return new ServiceError(
          'unknown_model',
          `no replica serves a model named '${printableModelName(model)}'; see GET /models`,
        )
      }
      if (pool.readyCount(model) === 0) {
        return this.#reject('no_replica', model ? `no replica serving ${model} is ready` : 'no replica is ready', 1)
      }
      const declaredSize = Number(request.headers['content-length']) || 0
      if (queue.admission(priority, declaredSize) !== 'ok') return this.#queueFull()
      // Refused only on a measured pace: until two answers have come, the latencies are guesses (a first answer
      // includes connecting, and may be several times the next ones), and refusing on a guess turns away traffic
      // that would have been served in time.
      const pace = this.#options.dispatcher.drainRate.pace(now)
      const expected =
        pace === undefined
          ? undefined
          : expectedAnswer(queue.size, pool.candidates(Date.now(), NOTHING_TRIED, model), pace)
      // The SLO is a target, not the client's deadline: a request that would be sent at once is always admitted
      // (refusing it cannot make it faster), even after a slow answer has raised the latency estimate.
      const sentAtOnce = deadlineEpoch === undefined && expected?.queueWaitMs === 0
      const wait = expected?.answerMs
      // Admitted only with room to spare: the estimate is an average, and a request admitted at the edge would often miss.
      if (wait !== undefined && !sentAtOnce && wait > budget * ADMISSION_HEADROOM) {
        const seconds = Math.max(1, Math.ceil(wait / 1000))
        return this.#reject(
          'queue_full',
          deadlineEpoch === undefined
            ? `the answer would take about ${Math.round(wait)} ms (queue ahead included), beyond the gateway's ${sloMs} ms SLO; send X-Timeout-Ms to allow longer`
            : `the answer would take about ${Math.round(wait)} ms (queue ahead included), beyond this request's deadline`,
          seconds,
          'would_miss_deadline',
        )
      }
      request.admitted = { deadline, priority, model }
      return undefined
    } catch (error) {
      return error as ServiceError
    }
  }

  async handle(request: FastifyRequest, reply: FastifyReply) {
    const body = request.body
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new ServiceError('empty_body', 'the request has no image: send multipart/form-data with a "file" field')
    }
    const job = this.#createJob(request, reply, body)
    const outcome = await job.outcome
    request.logFields = { attempts: job.attempts, gateway_queue_ms: round(job.queueMs) }
    if (outcome.kind === 'error') {
      return sendError(request, reply, new ServiceError(outcome.code, outcome.message, outcome.retryAfterSeconds))
    }
    if (outcome.answer.status !== 200) {
      // The replica's own error about this input (4xx) or its 504: passed on as it is.
      return reply.code(outcome.answer.status).type('application/json; charset=utf-8').send(outcome.answer.body)
    }
    return reply.send(this.#gatewayAnswer(outcome.answer, job, reply.elapsedTime))
  }

  #createJob(request: FastifyRequest, reply: FastifyReply, body: Buffer): Job & { outcome: Promise<JobOutcome> } {
    const { dispatcher } = this.#options
    const clientGone = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort()
    })
    const { promise: outcome, resolve: resolveOutcome } = Promise.withResolvers<JobOutcome>()
    const now = performance.now()
    const job = {
      id: request.id,
      body,
      size: body.length,
      contentType: String(request.headers['content-type']),
      model: request.admitted!.model,
      priority: request.admitted!.priority,
      receivedAt: now - reply.elapsedTime,
      enqueuedAt: now,
      deadline: request.admitted!.deadline,
      queueMs: 0,
      attempts: 0,
      tried: new Set<string>(),
      clientGone: clientGone.signal,
      settled: false,
      outcome,
      settle(result: JobOutcome) {
        if (job.settled) return
        job.settled = true
        resolveOutcome(result)
      },
    }
    if (dispatcher.submit(job) !== 'ok') job.settle(errorOutcome(this.#queueFull()))
    return job
  }

  /** The replica's prediction, plus where and how long it waited: `queue_size`, `replica`, gateway timings. */
  #gatewayAnswer(answer: UpstreamAnswer, job: Job, elapsedMs: number) {
    const prediction = JSON.parse(answer.body.toString('utf8'))
    const { total: replicaTotal, ...replicaTimings } = prediction.timing_ms ?? {}
    return {
      ...prediction,
      replica: answer.replica,
      replica_id: prediction.replica,
      queue_size: this.#options.queue.size,
      timing_ms: {
        ...replicaTimings,
        replica_total: replicaTotal,
        gateway_queue: round(job.queueMs),
        upstream: round(answer.upstreamMs),
        total: round(elapsedMs),
      },
    }
  }

  #queueFull(): ServiceError {
    const { queue, dispatcher } = this.#options
    const seconds = dispatcher.drainRate.retryAfterSeconds(queue.size + 1, performance.now())
    return this.#reject('queue_full', `the gateway queue is full (${queue.size} waiting)`, seconds)
  }

  #reject(
    code: 'queue_full' | 'no_replica' | 'shutting_down',
    message: string,
    retryAfter: number,
    reason: string = code,
  ): ServiceError {
    this.#options.metrics.rejected.inc({ reason })
    return new ServiceError(code, message, retryAfter)
  }
}

function parsePriority(header: string | string[] | undefined): Priority {
  if (header === undefined) return 'normal'
  if (header === 'low' || header === 'normal') return header
  throw new ServiceError('invalid_header', 'X-Priority must be "low" or "normal"')
}

function errorOutcome(error: ServiceError): JobOutcome {
  return { kind: 'error', code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
