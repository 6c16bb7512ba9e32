import { randomUUID } from 'node:crypto'
import { Pool, request } from 'undici'
import { imageUpload } from '../../common/http/multipart-body.ts'
import type { GatewayPrediction } from '../../common/prediction-schema.ts'
import { createRandom } from '../../common/random.ts'
import { type ArrivalMode, arrivalsInSecond } from './arrivals.ts'
import type { LoadImage } from './images.ts'
import type { ReplicaSample, RequestRecord } from './request-record.ts'
import { parseTarget, siblingUrl } from './target.ts'

export interface LoadOptions {
  /**
   * URL of a gateway or a replica (requests go to POST /predict), or of the endpoint itself
   * (`http://host:8080/add_to_queue?x=1`: requests go to that path, query kept). See parseTarget.
   */
  target: string
  /** POST to this path (and query) on the target's origin instead of the target URL's own. */
  path?: string
  /** Requests to send in each second (already scaled and cut). */
  workload: readonly number[]
  arrival: ArrivalMode
  seed: number
  images: readonly LoadImage[]
  timeoutMs: number
  /** At most this many requests in flight; a request due beyond it is recorded as not sent, never delayed. */
  concurrencyCap: number
  /** Tell the server the same budget (X-Timeout-Ms), so it can drop work nobody waits for any more. */
  sendDeadlineHeader?: boolean
  /** Ask for this model (X-Model); default: the server's default model. */
  model?: string
  /** Stops scheduling (Ctrl-C); requests in flight still get their answer or their timeout. */
  signal?: AbortSignal
  /**
   * Poll GET /replicas once a second (default true), beside the endpoint (see siblingUrl); silently off when the
   * target does not have it.
   */
  pollReplicas?: boolean
  /** Called once a second with the requests finished so far, for the progress display. */
  onTick?: (tick: { elapsedS: number; records: readonly RequestRecord[] }) => void
}

export interface LoadResult {
  startedAt: Date
  /** performance.now() at the start: record times are relative to it. */
  startMs: number
  durationS: number
  records: RequestRecord[]
  replicas: ReplicaSample[]
  interrupted: boolean
  /** The `model` the first successful answer named (so a report can say the model was untrained). */
  model: Partial<GatewayPrediction['model']> | undefined
}

interface PreparedBody {
  body: Buffer
  contentType: string
  image: LoadImage
}

/**
 * Replays a workload open loop: every request is sent at its own intended time, whether or not earlier ones were
 * answered, so a slow server cannot slow the arrivals down (no coordinated omission). Timers bring the loop to
 * within a millisecond of a due time; the last stretch yields with setImmediate, keeping schedule lag small.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const random = createRandom(options.seed)
  const bodies = await Promise.all(options.images.map(prepareBody))
  const target = parseTarget(options.target)
  const path = options.path ?? target.path
  const pool = new Pool(target.origin, { connections: options.concurrencyCap, keepAliveTimeout: 30_000 })
  const runId = randomUUID().slice(0, 8)
  const records: RequestRecord[] = []
  const pending = new Set<Promise<void>>()
  const replicas: ReplicaSample[] = []
  const startedAt = new Date()
  const start = performance.now()
  const now = () => performance.now() - start
  let inflight = 0
  let model: LoadResult['model']

  const poller =
    options.pollReplicas === false ? undefined : pollReplicas(siblingUrl(target, 'replicas'), now, replicas)
  const ticker = setInterval(() => options.onTick?.({ elapsedS: now() / 1000, records }), 1000)

  // The server is told the budget (X-Timeout-Ms) and answers 504 when it runs out; the client waits a little longer
  // so that answer is recorded as what it is, not raced by the client's own timeout.
  const clientPatienceMs =
    options.sendDeadlineHeader === false ? options.timeoutMs : options.timeoutMs + DEADLINE_ANSWER_GRACE_MS
  const send = (record: RequestRecord, prepared: PreparedBody) => {
    if (inflight >= options.concurrencyCap) {
      record.status = 'not_sent'
      return
    }
    inflight++
    record.sentMs = now()
    const headers: Record<string, string> = {
      'content-type': prepared.contentType,
      'x-request-id': `lt-${runId}-${record.index}`,
    }
    if (options.sendDeadlineHeader !== false) headers['x-timeout-ms'] = String(options.timeoutMs)
    if (options.model) headers['x-model'] = options.model
    const done = pool
      .request({
        path,
        method: 'POST',
        body: prepared.body,
        headers,
        signal: AbortSignal.timeout(clientPatienceMs),
        headersTimeout: clientPatienceMs,
        bodyTimeout: clientPatienceMs,
      })
      .then(async (response) => {
        const text = await response.body.text()
        record.answeredMs = now()
        record.status = response.statusCode
        const headerQueue = Number(response.headers['x-queue-size'])
        if (Number.isFinite(headerQueue)) record.queueSize = headerQueue
        const retryAfter = Number(response.headers['retry-after'])
        if (response.headers['retry-after'] !== undefined && Number.isFinite(retryAfter))
          record.retryAfterS = retryAfter
        const answerModel = readAnswer(text, record)
        model ??= answerModel
      })
      .catch((error: Error & { code?: string }) => {
        record.status = isTimeout(error) ? 'timeout' : 'error'
      })
      .finally(() => {
        inflight--
        pending.delete(done)
      })
    pending.add(done)
  }

  let index = 0
  let interrupted = false
  schedule: for (let second = 0; second < options.workload.length; second++) {
    for (const intendedMs of arrivalsInSecond(second, options.workload[second]!, options.arrival, random)) {
      if (options.signal?.aborted) {
        interrupted = true
        break schedule
      }
      await waitUntil(start + intendedMs, options.signal)
      if (options.signal?.aborted) {
        interrupted = true
        break schedule
      }
      const prepared = bodies[index % bodies.length]!
      const record: RequestRecord = {
        index,
        second,
        intendedMs,
        sentMs: undefined,
        answeredMs: undefined,
        status: 'error',
        queueSize: undefined,
        upstreamMs: undefined,
        replica: undefined,
        predicted: undefined,
        truth: prepared.image.truth,
        image: prepared.image.name,
      }
      records.push(record)
      index++
      send(record, prepared)
    }
  }
  if (!interrupted) await waitUntil(start + options.workload.length * 1000, options.signal)
  await Promise.allSettled([...pending])
  clearInterval(ticker)
  await poller?.stop()
  await pool.close()
  options.onTick?.({ elapsedS: now() / 1000, records })
  return { startedAt, startMs: start, durationS: now() / 1000, records, replicas, interrupted, model }
}

/** Each image's upload is encoded once, before the clock starts: sending it is then a write of ready bytes. */
async function prepareBody(image: LoadImage): Promise<PreparedBody> {
  const upload = await imageUpload(image.bytes, { filename: image.name, contentType: 'application/octet-stream' })
  return { ...upload, image }
}

/**
 * Fills in what a prediction answer tells: label, queue size, replica; returns the model it names, if any.
 * Answers are read as the gateway's (a replica's lacks the gateway's fields), but nothing is trusted: each field is
 * checked before it is used, and a non-JSON answer (an error page, a proxy's) leaves the record as it is.
 */
function readAnswer(text: string, record: RequestRecord): LoadResult['model'] {
  let body: Partial<GatewayPrediction> | null
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof body !== 'object' || body === null) return undefined
  if (typeof body.label === 'string') record.predicted = body.label
  if (Array.isArray(body.top5)) {
    record.top5 = body.top5.flatMap((s: { label?: unknown } | null) => (typeof s?.label === 'string' ? [s.label] : []))
  }
  if (typeof body.queue_size === 'number') record.queueSize = body.queue_size
  if (typeof body.replica === 'string') record.replica = body.replica
  if (typeof body.timing_ms?.upstream === 'number') record.upstreamMs = body.timing_ms.upstream
  if (body.degraded === true) record.degraded = true
  return typeof body.model === 'object' && body.model !== null ? body.model : undefined
}

/** Our own abort signal and undici's header/body timers race; whichever fires first, it is the same timeout. */
function isTimeout(error: Error & { code?: string }): boolean {
  return (
    error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    error.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    error.code === 'UND_ERR_BODY_TIMEOUT'
  )
}

/** How long after the deadline the client still waits for the server's own 504. */
export const DEADLINE_ANSWER_GRACE_MS = 1000

/**
 * Timers fire up to about a millisecond late; they wake the loop this early, and setImmediate covers the rest. The
 * setImmediate stretch is a busy wait: 3 ms of it before every request cost the load tester ~0.12 of a core at 40
 * req/s (bench:e2e), CPU taken from the server on the same machine; 1 ms keeps lag within the same bound.
 */
const TIMER_SLACK_MS = 1

/** Resolves at `at` (performance.now() time), still processing I/O while it waits. */
async function waitUntil(at: number, signal: AbortSignal | undefined): Promise<void> {
  for (;;) {
    if (signal?.aborted) return
    const left = at - performance.now()
    if (left <= 0) return
    if (left > TIMER_SLACK_MS) await new Promise((resolve) => setTimeout(resolve, Math.min(left - TIMER_SLACK_MS, 200)))
    else await new Promise((resolve) => setImmediate(resolve))
  }
}

/** GET /replicas (at `url`) once a second, while the target answers it. */
function pollReplicas(url: string, now: () => number, samples: ReplicaSample[]) {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  const poll = async () => {
    try {
      const response = await request(url, { signal: AbortSignal.timeout(800) })
      if (response.statusCode !== 200) {
        await response.body.dump()
        stopped = true
        return
      }
      const body = (await response.body.json()) as { ready?: unknown; total?: unknown; desired?: unknown }
      if (typeof body.ready !== 'number') {
        stopped = true
        return
      }
      samples.push({
        second: Math.floor(now() / 1000),
        ready: body.ready,
        total: typeof body.total === 'number' ? body.total : body.ready,
        desired: typeof body.desired === 'number' ? body.desired : undefined,
      })
    } catch {
      // A missed sample is fine; the next second tries again.
    }
  }
  const loop = () => {
    if (stopped) return
    running = poll().finally(() => {
      if (!stopped) timer = setTimeout(loop, 1000)
    })
  }
  loop()
  return {
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
