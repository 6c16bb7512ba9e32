/**
 * Every error a client can see has a stable `code`; this table is the one place that maps codes to HTTP status.
 * Replica and gateway share it so that a client (or the gateway reading a replica) can act on the code alone.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_header: 400,
  invalid_query: 400,
  missing_file: 400,
  empty_body: 400,
  invalid_image: 400,
  unknown_model: 404,
  unknown_dataset: 404,
  unknown_batch: 404,
  not_found: 404,
  method_not_allowed: 405,
  unauthorized: 401,
  forbidden: 403,
  body_timeout: 408,
  batch_finished: 409,
  payload_too_large: 413,
  too_many_pixels: 413,
  unsupported_media_type: 415,
  too_many_jobs: 429,
  client_closed: 499,
  internal: 500,
  upstream_failed: 502,
  queue_full: 503,
  /** Admitted, its answer is expected after its deadline (or the SLO): refused at once instead of a 504 later. */
  would_miss_deadline: 503,
  replica_full: 503,
  not_ready: 503,
  shutting_down: 503,
  batch_disabled: 503,
  no_replica: 503,
  deadline_exceeded: 504,
} as const satisfies Record<string, number>

export type ErrorCode = keyof typeof ERROR_STATUS

export interface ErrorBody {
  error: string
  code: ErrorCode
  request_id: string
}

/**
 * The `code` of an error body as read off the wire (a replica's answer to the gateway): undefined when the body is
 * not such JSON, since a proxy or a crashing process may answer with anything.
 */
export function errorCodeOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { code?: unknown }
    return typeof parsed.code === 'string' ? parsed.code : undefined
  } catch {
    return undefined
  }
}

export class ServiceError extends Error {
  override name = 'ServiceError'
  readonly code: ErrorCode
  /** Seconds a client should wait before retrying; sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined
  constructor(code: ErrorCode, message: string, retryAfterSeconds?: number) {
    super(message)
    this.code = code
    this.retryAfterSeconds = retryAfterSeconds
  }

  get statusCode(): number {
    return ERROR_STATUS[this.code]
  }
}

/** JSON schema of the error body, for route declarations and the OpenAPI document. */
export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  required: ['error', 'code', 'request_id'],
  properties: {
    error: { type: 'string', description: 'Human-readable explanation.' },
    code: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'Stable machine-readable code.' },
    request_id: { type: 'string' },
  },
} as const
