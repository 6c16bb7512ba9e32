import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorBody, type ErrorCode, ServiceError } from '../errors.ts'

/** Fastify's and @fastify/multipart's own error codes, translated into ours. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'bad_request',
  FST_FIELDS_LIMIT: 'bad_request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_PROTO_VIOLATION: 'bad_request',
  FST_ERR_VALIDATION: 'bad_request',
}

/** Any thrown value → a ServiceError with a stable code. Unknown failures become `internal` (500). */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error
  const e = error as Partial<FastifyError> & { validation?: unknown; validationContext?: string }
  if (e.validation !== undefined) {
    const code: ErrorCode = e.validationContext === 'headers' ? 'invalid_header' : 'bad_request'
    return new ServiceError(code, e.message ?? 'invalid request')
  }
  const mapped = e.code !== undefined ? FRAMEWORK_CODES[e.code] : undefined
  if (mapped) return new ServiceError(mapped, e.message ?? mapped)
  // busboy reports malformed multipart bodies with plain Errors and no status.
  if (typeof e.message === 'string' && /multipart|boundary|part header|end of form/i.test(e.message)) {
    return new ServiceError('bad_request', `malformed multipart body: ${e.message}`)
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ServiceError(e.statusCode === 413 ? 'payload_too_large' : 'bad_request', e.message ?? 'bad request')
  }
  return new ServiceError('internal', 'internal error')
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: ServiceError): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))))
  const body: ErrorBody = { error: error.message, code: error.code, request_id: request.id }
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(body)
}

/**
 * One error handler for the whole service: every failure is answered as `{error, code, request_id}` with the
 * status from ERROR_STATUS; unknown routes are 404, known routes with the wrong method 405 with `Allow`.
 * Must be installed before routes are declared (it records their methods).
 */
export function installErrorHandling(app: FastifyInstance): void {
  const methodsByPath = new Map<string, Set<string>>()
  app.addHook('onRoute', (route) => {
    const methods = methodsByPath.get(route.url) ?? new Set<string>()
    for (const method of [route.method].flat()) methods.add(method)
    methodsByPath.set(route.url, methods)
  })

  app.setErrorHandler((error, request, reply) => {
    const serviceError = toServiceError(error)
    if (serviceError.code === 'internal') request.log.error({ err: error }, 'unhandled error')
    return sendError(request, reply, serviceError)
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = methodsByPath.get(path)
    if (allowed && !allowed.has(request.method)) {
      reply.header('allow', [...allowed].join(', '))
      return sendError(
        request,
        reply,
        new ServiceError('method_not_allowed', `${request.method} is not allowed on ${path}`),
      )
    }
    return sendError(request, reply, new ServiceError('not_found', `no route for ${request.method} ${path}`))
  })
}
