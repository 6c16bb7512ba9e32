import { ServiceError } from '../errors.ts'
import { FORWARDED_HEADERS } from './replica-protocol.ts'

/** The largest budget a client may ask for; larger values are refused as a likely mistake. */
export const MAX_TIMEOUT_MS = 3_600_000

/**
 * The request's deadline as epoch milliseconds, from `X-Timeout-Ms` (relative, preferred: immune to clock skew)
 * or `X-Deadline-Ms` (absolute epoch ms); undefined when the client gave neither. Malformed values are a 400.
 */
export function deadlineFromHeaders(
  headers: Record<string, string | string[] | undefined>,
  nowEpochMs: number,
): number | undefined {
  const timeout = single(headers[FORWARDED_HEADERS.timeoutMs], 'X-Timeout-Ms')
  if (timeout !== undefined) return nowEpochMs + integerHeader(timeout, 'X-Timeout-Ms', 0, MAX_TIMEOUT_MS)
  const deadline = single(headers['x-deadline-ms'], 'X-Deadline-Ms')
  if (deadline !== undefined) {
    return integerHeader(deadline, 'X-Deadline-Ms', nowEpochMs - MAX_TIMEOUT_MS, nowEpochMs + MAX_TIMEOUT_MS)
  }
  return undefined
}

/**
 * The time left until the request's deadline, ms (≤ 0 once past), or undefined when it named none. X-Deadline-Ms is
 * a wall-clock time, so the wall clock is read here, once; callers keep their own clock for what follows.
 */
export function timeLeftFromHeaders(
  headers: Record<string, string | string[] | undefined>,
  nowEpochMs = Date.now(),
): number | undefined {
  const deadline = deadlineFromHeaders(headers, nowEpochMs)
  return deadline === undefined ? undefined : deadline - nowEpochMs
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > 1) throw new ServiceError('invalid_header', `${name} was sent more than once`)
    return value[0]
  }
  return value
}

function integerHeader(raw: string, name: string, min: number, max: number): number {
  const value = /^\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const shown = raw.length > 32 ? `${raw.slice(0, 32)}…` : raw
    throw new ServiceError(
      'invalid_header',
      `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(shown)}`,
    )
  }
  return value
}
