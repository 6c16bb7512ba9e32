import { setTimeout as delay } from 'node:timers/promises'
import { request } from 'undici'
import { bearerHeader } from '../../../common/auth/token-set.ts'
import type { BatchSpec } from './batch-jobs.ts'
import type { BatchResults } from './batch-results.ts'
import type { BatchStatus } from './batch-store.ts'

/** A batch job as `GET /batch/:id` answers it. */
export interface BatchJobView {
  id: string
  status: BatchStatus
  model: string
  dataset: string
  limit: number | null
  runs: number
  progress: { total: number; done: number; errors: number; fraction: number }
  error?: { code: string; message: string }
  results?: BatchResults
}

export class BatchClientError extends Error {
  override name = 'BatchClientError'
  readonly status: number
  readonly code: string | undefined
  constructor(status: number, code: string | undefined, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * Runs a batch job on a gateway over HTTP: POST /batch, then GET /batch/:id every `pollMs` until it has ended, for a
 * command (a gate) that is not the gateway process. Throws BatchClientError with the gateway's code on a refusal.
 */
export async function runBatchJobOverHttp(
  gatewayUrl: string,
  spec: BatchSpec,
  {
    pollMs = 500,
    signal,
    onProgress,
    token,
  }: {
    pollMs?: number
    signal?: AbortSignal
    onProgress?: (job: BatchJobView) => void
    /** A batch (or admin) token, for a gateway with a TOKENS_FILE. */
    token?: string
  } = {},
): Promise<BatchJobView> {
  let job = await callJson('POST', `${gatewayUrl}/batch`, spec, signal, token)
  while (job.status === 'queued' || job.status === 'running') {
    onProgress?.(job)
    await delay(pollMs, undefined, { signal })
    job = await callJson('GET', `${gatewayUrl}/batch/${job.id}`, undefined, signal, token)
  }
  return job
}

async function callJson(
  method: 'GET' | 'POST',
  url: string,
  body: unknown,
  signal: AbortSignal | undefined,
  token: string | undefined,
): Promise<BatchJobView> {
  const response = await request(url, {
    method,
    signal,
    headers: {
      ...bearerHeader(token),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  const answer = (await response.body.json()) as BatchJobView & { error?: unknown; code?: string }
  if (response.statusCode >= 400) {
    throw new BatchClientError(response.statusCode, answer.code, `${method} ${url}: ${String(answer.error)}`)
  }
  return answer
}
