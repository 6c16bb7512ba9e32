import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { FastifyRequest } from 'fastify'
import { ServiceError } from '../../../common/errors.ts'
import { ANONYMOUS, type BatchJobs } from '../batch/batch-jobs.ts'
import type { BatchJobRecord } from '../batch/batch-store.ts'
import { DATASET_NAME_PATTERN } from '../batch/dataset-name.ts'
import type { DatasetCatalog } from '../batch/datasets.ts'

export interface BatchRoutesOptions {
  batch: BatchJobs
  datasets: DatasetCatalog
}

const errorResponse = { $ref: 'ErrorBody#' } as const
const nullableNumber = { type: ['number', 'null'] } as const
const percentiles = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { p50: { type: 'number' }, p95: { type: 'number' }, p99: { type: 'number' } },
} as const

/** Model references as routing takes them: `NAME` or `NAME@VERSION`, each one printable segment. */
const MODEL_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(@[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$'

const batchJobSchema = {
  type: 'object',
  required: ['id', 'status', 'model', 'dataset', 'progress'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    model: { type: 'string' },
    dataset: { type: 'string' },
    limit: { type: ['integer', 'null'] },
    created_at: { type: 'string' },
    started_at: { type: ['string', 'null'] },
    finished_at: { type: ['string', 'null'] },
    runs: { type: 'integer', description: 'times a gateway started it: more than 1 after a resume' },
    owner: { type: 'string', description: 'the name of the token that submitted it (anonymous without tokens)' },
    progress: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        done: { type: 'integer', description: 'images with an outcome (prediction or error)' },
        errors: { type: 'integer' },
        fraction: { type: 'number' },
      },
    },
    error: {
      type: 'object',
      description: 'why a failed job failed',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    results: {
      type: 'object',
      description: 'on success: accuracy (labels from `<synset>_<label>` file names), latency, throughput, errors',
      additionalProperties: false,
      properties: {
        images: { type: 'integer' },
        evaluated: { type: 'integer', description: 'predictions of labelled images (the accuracy denominator)' },
        unlabelled: { type: 'integer' },
        top1_accuracy: nullableNumber,
        top5_accuracy: nullableNumber,
        latency_ms: { ...percentiles, description: 'replica round trip per image' },
        gateway_queue_ms: { ...percentiles, description: 'wait in the low-priority lane per image' },
        images_per_second: { type: 'number' },
        running_seconds: { type: 'number' },
        errors: {
          type: 'object',
          additionalProperties: false,
          properties: {
            count: { type: 'integer' },
            by_code: { type: 'object', additionalProperties: { type: 'integer' } },
          },
        },
      },
    },
  },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9-]+$' } },
} as const

/**
 * Batch evaluation jobs: `POST /batch`, `GET /batch`, `GET /batch/:id`, `DELETE /batch/:id`, and `GET /datasets`.
 * The gateway reads uploads as raw bytes; this scope alone parses JSON bodies.
 */
export const batchRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: BatchRoutesOptions }> = async (
  app,
  { batch, datasets },
) => {
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))

  const view = (job: BatchJobRecord) => {
    const { done, errors } = batch.progress(job.id)
    const total = job.images.length
    return {
      id: job.id,
      status: job.status,
      model: job.model,
      dataset: job.dataset,
      limit: job.limit,
      created_at: job.createdAt,
      started_at: job.startedAt,
      finished_at: job.finishedAt,
      runs: job.runs,
      owner: job.owner,
      progress: { total, done, errors, fraction: total > 0 ? done / total : 1 },
      ...(job.error ? { error: job.error } : {}),
      ...(job.results ? { results: job.results } : {}),
    }
  }

  // A batch token sees and cancels its own jobs only (another's is a 404: its existence is not revealed); an admin,
  // or anyone when no tokens are configured, sees all.
  const ownerOf = (request: FastifyRequest) => request.holder?.name ?? ANONYMOUS
  const seesAll = (request: FastifyRequest) => request.holder === null || request.holder.role === 'admin'
  const visibleJob = (request: FastifyRequest, id: string) => {
    const job = batch.get(id)
    if (!job || !(seesAll(request) || job.owner === ownerOf(request)))
      throw new ServiceError('unknown_batch', `no batch job ${id}`)
    return job
  }

  const batchBodyFields = new Set(['model', 'dataset', 'limit'])
  app.post('/batch', {
    schema: {
      summary: 'Start a batch evaluation job: every image of a dataset through the low-priority lane',
      description:
        'Answers 202 at once; poll GET /batch/:id. `model` is what `?model=` takes; `dataset` a name from ' +
        'GET /datasets (never a path); `limit` evaluates only the first N images in name order.',
      body: {
        type: 'object',
        required: ['model', 'dataset'],
        additionalProperties: false,
        properties: {
          model: { type: 'string', pattern: MODEL_PATTERN, maxLength: 129 },
          dataset: { type: 'string', pattern: DATASET_NAME_PATTERN, maxLength: 64 },
          limit: { type: 'integer', minimum: 1, maximum: 10_000_000 },
        },
      },
      response: {
        202: batchJobSchema,
        400: errorResponse,
        404: errorResponse,
        415: errorResponse,
        429: errorResponse,
        503: errorResponse,
      },
    },
    config: { accessLog: true, role: 'batch' },
    // Fastify's validation drops unknown fields; a misspelt `limt` must not silently run the whole dataset.
    preValidation: (request, _reply, done) => {
      const body = request.body
      const unknown = body && typeof body === 'object' ? Object.keys(body).filter((k) => !batchBodyFields.has(k)) : []
      done(unknown.length > 0 ? new ServiceError('bad_request', `unknown field(s): ${unknown.join(', ')}`) : undefined)
    },
    handler: async (request, reply) => {
      const job = await batch.submit(request.body, ownerOf(request))
      return reply.code(202).header('location', `/batch/${job.id}`).send(view(job))
    },
  })

  app.get('/batch', {
    config: { role: 'batch' },
    schema: {
      summary: 'Batch jobs, newest first (the last 100; a batch token sees its own)',
      response: {
        200: { type: 'object', properties: { jobs: { type: 'array', items: batchJobSchema } } },
        503: errorResponse,
      },
    },
    handler: async (request) => ({ jobs: batch.list(seesAll(request) ? undefined : ownerOf(request)).map(view) }),
  })

  app.get('/batch/:id', {
    config: { role: 'batch' },
    schema: {
      summary: 'One batch job: status, progress, and its results once it succeeded',
      params: idParams,
      response: { 200: batchJobSchema, 400: errorResponse, 404: errorResponse, 503: errorResponse },
    },
    handler: async (request) => view(visibleJob(request, request.params.id)),
  })

  app.delete('/batch/:id', {
    schema: {
      summary: 'Cancel a queued or running batch job (409 once it has ended)',
      description:
        'The first DELETE cancels the job and answers 200 with it, `cancelled` (for a running job once its images in ' +
        'flight are withdrawn). Every later one, including one sent while that first cancel is taking effect, is ' +
        '409 `batch_finished`: a job is cancelled once, so exactly one client is told it did it.',
      params: idParams,
      response: { 200: batchJobSchema, 400: errorResponse, 404: errorResponse, 409: errorResponse, 503: errorResponse },
    },
    config: { accessLog: true, role: 'batch' },
    handler: async (request) => view(await batch.cancel(visibleJob(request, request.params.id).id)),
  })

  app.get('/datasets', {
    config: { role: 'batch' },
    schema: {
      summary: 'The datasets batch jobs can evaluate: the folders of the datasets directory',
      response: {
        200: {
          type: 'object',
          properties: {
            datasets: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, images: { type: 'integer' } } },
            },
          },
        },
      },
    },
    handler: async () => ({ datasets: await datasets.list() }),
  })
}
