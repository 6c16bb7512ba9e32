import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServiceError } from '../../../common/errors.ts'
import { deadlineFromHeaders } from '../../../common/http/deadline.ts'
import { sendError } from '../../../common/http/error-handling.ts'
import { deadlineHeadersSchema, predictionProperties, predictionRequired } from '../../../common/prediction-schema.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { GatewayMetrics } from '../metrics.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import type { Job, JobOutcome, Priority } from '../queue/job.ts'
import type { JobQueue } from '../queue/job-queue.ts'

export interface PredictRouteOptions {
  queue: JobQueue<Job>
  dispatcher: Dispatcher
  pool: ReplicaPool
  metrics: GatewayMetrics
  defaultTimeoutMs: number
  isShuttingDown: () => boolean
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

declare module 'fastify' {
  interface FastifyRequest {
    job: { deadline: number; priority: Priority } | null
  }
}

/** `POST /predict` and its seed-compatible alias `POST /add_to_queue`: admission, queueing, the answer. */
export function registerPredictRoutes(app: FastifyInstance, options: PredictRouteOptions): void {
  const { queue, dispatcher, pool, metrics } = options
  app.decorateRequest('job', null)

  const schema = {
    summary: 'Classify one image (queued, then sent to the least-loaded ready replica)',
    description:
      'Same request as a replica’s /predict (multipart field `file`, or raw image bytes). Optional headers: ' +
      '`X-Timeout-Ms` (deadline), `X-Priority: low|normal`, `X-Request-Id`. Every answer has `X-Queue-Size`.',
    consumes: ['multipart/form-data', 'image/*', 'application/octet-stream'],
    headers: {
      ...deadlineHeadersSchema,
      properties: {
        ...deadlineHeadersSchema.properties,
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
      413: errorResponse,
      415: errorResponse,
      502: errorResponse,
      503: errorResponse,
      504: errorResponse,
    },
  }

  // Admission happens before the body is read: a full gateway refuses a 10 MB upload without reading it.
  const admit = async (request: FastifyRequest) => {
    if (options.isShuttingDown()) throw reject(metrics, 'shutting_down', 'the gateway is shutting down', 1)
    const now = performance.now()
    const deadlineEpoch = deadlineFromHeaders(request.headers, Date.now())
    const deadline = deadlineEpoch === undefined ? now + options.defaultTimeoutMs : now + (deadlineEpoch - Date.now())
    const priority = parsePriority(request.headers['x-priority'])
    if (pool.readyCount() === 0) throw reject(metrics, 'no_replica', 'no replica is ready', 1)
    const declaredSize = Number(request.headers['content-length']) || 0
    if (queue.admission(priority, declaredSize) !== 'ok') throw queueFull(queue, dispatcher, metrics)
    request.job = { deadline, priority }
  }

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new ServiceError('empty_body', 'the request has no image: send multipart/form-data with a "file" field')
    }
    const clientGone = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort()
    })
    let resolveOutcome: (outcome: JobOutcome) => void = () => {}
    const answered = new Promise<JobOutcome>((resolve) => {
      resolveOutcome = resolve
    })
    const job: Job = {
      id: request.id,
      body,
      size: body.length,
      contentType: String(request.headers['content-type']),
      priority: request.job!.priority,
      receivedAt: performance.now() - reply.elapsedTime,
      enqueuedAt: performance.now(),
      deadline: request.job!.deadline,
      queueMs: 0,
      attempts: 0,
      tried: new Set(),
      clientGone: clientGone.signal,
      settled: false,
      settle(result) {
        if (job.settled) return
        job.settled = true
        resolveOutcome(result)
      },
    }
    if (dispatcher.submit(job) !== 'ok') job.settle(errorOutcome(queueFull(queue, dispatcher, metrics)))
    const outcome = await answered
    request.logFields = { attempts: job.attempts, gateway_queue_ms: round(job.queueMs) }
    if (outcome.kind === 'error') {
      return sendError(request, reply, new ServiceError(outcome.code, outcome.message, outcome.retryAfterSeconds))
    }
    const { answer } = outcome
    if (answer.status !== 200) {
      // The replica's own error about this input (4xx) or its 504: passed on as it is.
      return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body)
    }
    const prediction = JSON.parse(answer.body.toString('utf8'))
    const { total: replicaTotal, ...replicaTimings } = prediction.timing_ms ?? {}
    return reply.send({
      ...prediction,
      replica: answer.replica,
      replica_id: prediction.replica,
      queue_size: queue.size,
      timing_ms: {
        ...replicaTimings,
        replica_total: replicaTotal,
        gateway_queue: round(job.queueMs),
        upstream: round(answer.upstreamMs),
        total: round(reply.elapsedTime),
      },
    })
  }

  for (const url of ['/predict', '/add_to_queue']) {
    app.post(url, {
      schema: { ...schema, ...(url === '/add_to_queue' ? { summary: 'Alias of POST /predict (seed API)' } : {}) },
      onRequest: admit,
      handler: handle,
    })
  }
}

function parsePriority(header: string | string[] | undefined): Priority {
  if (header === undefined) return 'normal'
  if (header === 'low' || header === 'normal') return header
  throw new ServiceError('invalid_header', 'X-Priority must be "low" or "normal"')
}

function queueFull(queue: JobQueue<Job>, dispatcher: Dispatcher, metrics: GatewayMetrics): ServiceError {
  const seconds = dispatcher.drainRate.retryAfterSeconds(queue.size + 1, performance.now())
  return reject(metrics, 'queue_full', `the gateway queue is full (${queue.size} waiting)`, seconds)
}

function reject(
  metrics: GatewayMetrics,
  reason: 'queue_full' | 'no_replica' | 'shutting_down',
  message: string,
  retryAfter: number,
) {
  metrics.rejected.inc({ reason })
  return new ServiceError(reason, message, retryAfter)
}

function errorOutcome(error: ServiceError): JobOutcome {
  return { kind: 'error', code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
