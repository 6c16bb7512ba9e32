import { randomUUID } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { errorCodeOf, ServiceError } from '../../../common/errors.ts'
import { imageUpload } from '../../../common/http/multipart-body.ts'
import { truthFromFileName } from '../../../common/image-labels.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import { Job, type JobOutcome } from '../queue/job.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import { aggregateBatchResults, type ItemResult } from './batch-results.ts'
import { jobsToPrune, quotaRefusal, type RetentionPolicy } from './batch-retention.ts'
import { type BatchJobRecord, type BatchStore, FINISHED } from './batch-store.ts'
import type { DatasetCatalog } from './datasets.ts'

export interface BatchSpec {
  /** Passed to routing as the request's model, exactly as `?model=` (e.g. `NAME` or `NAME@VERSION`). */
  model: string
  dataset: string
  /** Evaluate only the first `limit` images of the dataset (in name order); all of them when absent. */
  limit?: number
}

export interface BatchSettings {
  /** Images of the running job in the queue or in flight at once. */
  concurrency: number
  /** Deadline of one image, queue included, ms. */
  imageTimeoutMs: number
  /** A running job that completes no image for this long fails. */
  stallTimeoutMs: number
  /** Jobs queued or running at once per owner; one more is 429 too_many_jobs. */
  maxActiveJobs: number
  /** Which finished jobs are deleted, and when. */
  retention: RetentionPolicy
}

/** The owner of jobs submitted without a token (no tokens file, or in-process: a gate). */
export const ANONYMOUS = 'anonymous'
/** How often finished jobs are checked against their maximum age (also after each job ends). */
const PRUNE_INTERVAL_MS = 10 * 60_000

export interface BatchJobsDeps {
  /** Undefined when DATA_DIR could not be used: batch jobs are then disabled (503 batch_disabled), nothing else. */
  store: BatchStore | undefined
  datasets: DatasetCatalog
  dispatcher: Dispatcher
  queue: JobQueue<Job>
  pool: ReplicaPool
  log: FastifyBaseLogger
}

/** What a client asking for batch work hears on a gateway without a usable DATA_DIR (the path is in the log). */
export const BATCH_DISABLED_MESSAGE =
  'batch jobs are disabled on this gateway: it has no writable data directory; set DATA_DIR to a writable directory (a volume) to enable them'

/** Attempts at one image that fail on the replica's side (5xx, no answer) before it counts as an error. */
const ATTEMPTS_PER_IMAGE = 3
const BACKOFF_MS = { first: 50, max: 1000 }

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
}

interface Running {
  id: string
  /** Aborted to cancel the job (reason 'cancelled') or to stop the gateway (reason 'stopped'). */
  abort: AbortController
  done: Promise<void>
}

/**
 * Batch evaluation jobs: each image of a dataset goes through the gateway's own queue in the low-priority lane (so
 * interactive requests are always dispatched first), at most `concurrency` at a time (so batch work never fills the
 * queue), to whatever replica routing picks for the job's model. Jobs run one at a time, oldest first. State lives in
 * a BatchStore: a job a stopped or killed gateway left running is resumed by the next one with the images not yet
 * recorded. Emits 'finished' (id) when a job ends.
 */
export class BatchJobs extends EventEmitter<{ finished: [id: string] }> {
  readonly #deps: BatchJobsDeps
  readonly #settings: BatchSettings
  #running: Running | undefined
  #started = false
  #stopped = false
  #pruneTimer: NodeJS.Timeout | undefined

  constructor(deps: BatchJobsDeps, settings: BatchSettings) {
    super()
    this.#deps = deps
    this.#settings = settings
  }

  /** False when the gateway has no usable DATA_DIR: every call but start/stop answers 503 batch_disabled. */
  get enabled(): boolean {
    return this.#deps.store !== undefined
  }

  get #store(): BatchStore {
    const store = this.#deps.store
    if (store === undefined) throw new ServiceError('batch_disabled', BATCH_DISABLED_MESSAGE)
    return store
  }

  /** Starts running jobs: first any that a previous gateway left unfinished. */
  start(): void {
    if (!this.enabled) return
    this.#started = true
    this.prune()
    this.#pruneTimer = setInterval(
      () => this.prune(),
      Math.min(PRUNE_INTERVAL_MS, this.#settings.retention.maxAgeMs),
    ).unref()
    this.#next()
  }

  /** Deletes the finished jobs retention no longer keeps (BATCH_KEEP_FINISHED, BATCH_KEEP_FINISHED_S). */
  prune(nowMs = Date.now()): number {
    const store = this.#store
    const finished = store.finishedJobs().map((job) => ({ id: job.id, finishedAtMs: Date.parse(job.finishedAt) }))
    const ids = jobsToPrune(finished, nowMs, this.#settings.retention)
    const deleted = store.deleteFinished(ids)
    if (deleted > 0) this.#deps.log.info({ deleted }, 'deleted finished batch jobs past retention')
    return deleted
  }

  /**
   * Stops taking images: what is queued or in flight for the running job is withdrawn (it is evaluated again on
   * resume), and the job stays `running` in the store for the next gateway.
   */
  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#pruneTimer)
    const running = this.#running
    if (!running) return
    running.abort.abort('stopped')
    await running.done
  }

  /** Checks the request and queues the job; a ServiceError (404 unknown dataset or model, 400) when it cannot run. */
  async submit(spec: BatchSpec, owner = ANONYMOUS): Promise<BatchJobRecord> {
    const store = this.#store
    const dataset = await this.#deps.datasets.find(spec.dataset)
    if (!dataset) {
      throw new ServiceError('unknown_dataset', `no dataset named '${spec.dataset}'; see GET /datasets`)
    }
    if (dataset.images.length === 0) {
      throw new ServiceError('bad_request', `dataset '${spec.dataset}' has no images`)
    }
    const { pool } = this.#deps
    // With no replica ready yet (a gateway starting) the model cannot be checked: the job waits for replicas.
    if (pool.readyCount() > 0 && pool.readyCount(spec.model) === 0) {
      throw new ServiceError('unknown_model', `no ready replica serves a model named '${spec.model}'; see GET /models`)
    }
    // Counted and inserted with no await in between: concurrent submissions cannot all slip under the quota.
    const refusal = quotaRefusal(store.activeCount(owner), this.#settings.maxActiveJobs)
    if (refusal) throw new ServiceError('too_many_jobs', refusal)
    const id = randomUUID()
    const images = dataset.images.slice(0, spec.limit ?? dataset.images.length)
    store.insert({
      id,
      model: spec.model,
      dataset: spec.dataset,
      limit: spec.limit ?? null,
      images,
      createdAt: new Date().toISOString(),
      owner,
    })
    this.#deps.log.info({ batch: id, model: spec.model, dataset: spec.dataset, images: images.length }, 'batch queued')
    this.#next()
    return store.get(id)!
  }

  get(id: string): BatchJobRecord | undefined {
    return this.#store.get(id)
  }

  /** The newest jobs first: all, or one owner's. */
  list(owner?: string, max = 100): BatchJobRecord[] {
    return this.#store.list(max, owner)
  }

  /**
   * Cancels a queued or running job; 404 when unknown, 409 when it already ended. The first cancel wins: one that
   * comes while a running job winds down after an earlier cancel is a 409 too, as if that job had ended already.
   */
  async cancel(id: string): Promise<BatchJobRecord> {
    const job = this.#store.get(id)
    if (!job) throw new ServiceError('unknown_batch', `no batch job ${id}`)
    const finished = (status: string) => new ServiceError('batch_finished', `batch job ${id} already ${status}`)
    if (FINISHED.has(job.status)) throw finished(job.status)
    const running = this.#running
    if (running?.id === id) {
      if (running.abort.signal.reason === 'cancelled') throw finished('cancelled')
      running.abort.abort('cancelled')
      await running.done
    } else if (!this.#finish(id, { status: 'cancelled' })) throw finished(this.#store.get(id)?.status ?? 'ended')
    return this.#store.get(id)!
  }

  /** Resolves with the job once it has ended (succeeded, failed or cancelled). */
  async wait(id: string, signal?: AbortSignal): Promise<BatchJobRecord> {
    for (;;) {
      const job = this.#store.get(id)
      if (!job) throw new ServiceError('unknown_batch', `no batch job ${id}`)
      if (FINISHED.has(job.status)) return job
      await once(this, 'finished', { signal })
    }
  }

  /**
   * The newest succeeded job for this model, dataset and limit, if any: a gate can reuse its stored results instead
   * of evaluating again (only when comparing with results measured under the same conditions makes sense).
   */
  latestSucceeded(spec: BatchSpec): BatchJobRecord | undefined {
    return this.#store.latestSucceeded({ model: spec.model, dataset: spec.dataset, limit: spec.limit ?? null })
  }

  /** Progress of any job: images with an outcome, and how many of them are errors. */
  progress(id: string): { done: number; errors: number } {
    return this.#store.progress(id)
  }

  #next(): void {
    if (!this.#started || this.#stopped || this.#running) return
    const id = this.#store.unfinished()[0]
    if (id === undefined) return
    const abort = new AbortController()
    const running: Running = { id, abort, done: Promise.resolve() }
    this.#running = running
    running.done = this.#run(id, abort.signal)
      .catch((error: unknown) => {
        this.#deps.log.error({ err: error, batch: id }, 'batch job failed unexpectedly')
        this.#finish(id, { status: 'failed', code: 'internal', message: 'internal error' })
      })
      .finally(() => {
        this.#running = undefined
        this.#next()
      })
  }

  async #run(id: string, signal: AbortSignal): Promise<void> {
    const { log } = this.#deps
    const store = this.#store
    const job = store.get(id)!
    const dataset = await this.#deps.datasets.find(job.dataset)
    if (!dataset) {
      this.#finish(id, { status: 'failed', code: 'unknown_dataset', message: `dataset '${job.dataset}' is gone` })
      return
    }
    const run = store.beginRun(id, new Date().toISOString())
    const done = store.doneImages(id)
    const pending = job.images.filter((image) => !done.has(image))
    log.info({ batch: id, run, done: done.size, pending: pending.length }, run > 1 ? 'batch resumed' : 'batch started')

    const runStart = performance.now()
    let lastProgress = runStart
    const stall = new AbortController()
    const stallTimer = setInterval(
      () => {
        if (performance.now() - lastProgress > this.#settings.stallTimeoutMs) stall.abort('stalled')
      },
      Math.min(1000, this.#settings.stallTimeoutMs),
    ).unref()
    const stop = AbortSignal.any([signal, stall.signal])

    const positions = new Map(job.images.map((image, i) => [image, i]))
    let next = 0
    const worker = async () => {
      while (!stop.aborted && next < pending.length) {
        const image = pending[next++]!
        const item = await this.#evaluate(job, dataset.dir, image, positions.get(image)!, stop)
        if (!item) return
        lastProgress = performance.now()
        store.recordItem(id, run, item, job.runningMs + (lastProgress - runStart))
        log.debug({ batch: id, image, ok: item.ok }, 'batch image done')
      }
    }
    // Never more images at once than the low lane holds: a batch never gets a 'queue full' from itself.
    const room = this.#deps.queue.capacity('low')
    const width = Math.min(this.#settings.concurrency, room, Math.max(1, pending.length))
    await Promise.all(Array.from({ length: width }, worker))
    clearInterval(stallTimer)

    if (signal.aborted) {
      if (signal.reason === 'cancelled') this.#finish(id, { status: 'cancelled' })
      // Stopped: the job stays running, for the next gateway to resume.
      return
    }
    if (stall.signal.aborted) {
      const message =
        `no image completed in ${this.#settings.stallTimeoutMs} ms ` +
        `(ready replicas serving '${job.model}': ${this.#deps.pool.readyCount(job.model)})`
      this.#finish(id, { status: 'failed', code: 'no_replica', message })
      return
    }
    const items = store.items(id)
    const results = aggregateBatchResults(items, store.get(id)!.runningMs / 1000)
    if (results.images > 0 && results.errors.count === results.images) {
      const codes = Object.keys(results.errors.by_code).join(', ')
      this.#finish(id, { status: 'failed', code: 'upstream_failed', message: `every image failed (${codes})` })
      return
    }
    this.#finish(id, { status: 'succeeded', results })
  }

  /** One image through the queue, until it has an outcome; undefined when the job was stopped first. */
  async #evaluate(
    job: BatchJobRecord,
    dir: string,
    image: string,
    position: number,
    signal: AbortSignal,
  ): Promise<ItemResult | undefined> {
    const truth = truthFromFileName(image)
    let bytes: Buffer
    try {
      bytes = await readFile(join(dir, image))
    } catch {
      return { image, truth, ok: false, errorCode: 'missing_image' }
    }
    const contentType = CONTENT_TYPES[extname(image).toLowerCase()] ?? 'application/octet-stream'
    const upload = await imageUpload(bytes, { filename: image, contentType })
    let failures = 0
    let backoffMs = BACKOFF_MS.first
    for (let attempt = 1; !signal.aborted; attempt++) {
      const { outcome, queueMs } = await this.#submit(job, position, attempt, upload, signal)
      if (outcome.kind === 'error') {
        if (outcome.code === 'client_closed') return undefined
        // Busy or no replica (yet): wait and try again; only a stalled job gives up.
        const waitable = ['queue_full', 'no_replica', 'shutting_down'].includes(outcome.code)
        if (!waitable && ++failures >= ATTEMPTS_PER_IMAGE) return { image, truth, ok: false, errorCode: outcome.code }
        await delay(backoffMs, undefined, { signal }).catch(() => {})
        backoffMs = Math.min(BACKOFF_MS.max, backoffMs * 2)
        continue
      }
      const { answer } = outcome
      if (answer.status === 200) {
        const prediction = JSON.parse(answer.body.toString('utf8')) as { label: string; top5?: { label: string }[] }
        const top5 = (prediction.top5 ?? []).map((entry) => entry.label)
        return { image, truth, ok: true, label: prediction.label, top5, latencyMs: answer.upstreamMs, queueMs }
      }
      // The replica's verdict on this image (4xx), or its own 5xx: counted after a few tries.
      const code = errorCodeOf(answer.body) ?? `http_${answer.status}`
      if (answer.status < 500 || ++failures >= ATTEMPTS_PER_IMAGE) return { image, truth, ok: false, errorCode: code }
    }
    return undefined
  }

  /** One attempt through the queue; a job that does not fit is a `queue_full` outcome. */
  async #submit(
    batch: BatchJobRecord,
    position: number,
    attempt: number,
    upload: { body: Buffer; contentType: string },
    signal: AbortSignal,
  ): Promise<{ outcome: JobOutcome; queueMs: number }> {
    const job = new Job({
      // The request id names the job, the image (its position) and the attempt, in both logs and the replica's.
      id: `batch-${batch.id.slice(0, 8)}-${position}-${attempt}`,
      body: upload.body,
      contentType: upload.contentType,
      model: batch.model,
      priority: 'low',
      deadline: performance.now() + this.#settings.imageTimeoutMs,
      clientGone: signal,
    })
    if (this.#deps.dispatcher.submit(job) !== 'ok') {
      return { outcome: { kind: 'error', code: 'queue_full', message: 'the low-priority lane is full' }, queueMs: 0 }
    }
    return { outcome: await job.outcome, queueMs: job.queueMs }
  }

  /** Ends an unfinished job; false when it had ended already. */
  #finish(id: string, outcome: Parameters<BatchStore['finish']>[1]): boolean {
    if (!this.#store.finish(id, outcome, new Date().toISOString())) return false
    const fields = outcome.status === 'failed' ? { code: outcome.code, reason: outcome.message } : {}
    this.#deps.log.info({ batch: id, status: outcome.status, ...fields }, 'batch finished')
    this.emit('finished', id)
    // After the event: whoever waits for this job reads it before retention may delete it.
    queueMicrotask(() => {
      try {
        this.prune()
      } catch (error) {
        this.#deps.log.warn({ err: error }, 'could not delete finished batch jobs past retention')
      }
    })
    return true
  }
}
