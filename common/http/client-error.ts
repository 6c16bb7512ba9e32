import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { ERROR_STATUS, type ErrorBody } from '../errors.ts'

/** Node's own refusals, raised before Fastify sees a request, and how they are told to the client. */
const CLIENT_ERRORS: Record<string, { status: number; code: ErrorBody['code']; error: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: ERROR_STATUS.body_timeout,
    code: 'body_timeout',
    error: 'the request was not received in time (body timeout): send the whole body without pausing',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'invalid_header',
    error: 'request headers are too large',
  },
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
}

/**
 * Fastify's `clientErrorHandler`: the errors Node's HTTP parser and timers raise (a body trickled past the timeout,
 * oversized headers, control characters in a header) become the same `{error, code, request_id}` JSON as every
 * other error, instead of Node's bare status line. The connection is closed afterwards: its stream is unusable.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const known = error.code ? CLIENT_ERRORS[error.code] : undefined
  const {
    status,
    code,
    error: message,
  } = known ?? {
    status: 400,
    code: 'bad_request' as const,
    error: 'the request is not valid HTTP (for example, a control character in a header)',
  }
  const body = JSON.stringify({ error: message, code, request_id: randomUUID() } satisfies ErrorBody)
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
