import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's requests each get an access-log line. */
    accessLog?: boolean
  }
  interface FastifyRequest {
    /** Fields a handler wants in this request's access-log line (timings, model, replica). */
    logFields: Record<string, unknown> | null
  }
}

const INFO_OR_LOWER = new Set(['info', 'debug', 'trace'])

/**
 * One JSON log line per request of the routes that ask for it (`config: { accessLog: true }`), after the response:
 * request_id (via the child logger), status, duration.
 */
export function installAccessLog(app: FastifyInstance): void {
  app.decorateRequest('logFields', null)
  app.addHook('onResponse', (request, reply, done) => {
    done()
    if (!INFO_OR_LOWER.has(request.log.level)) return
    if (request.routeOptions.config.accessLog !== true) return
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        ...request.logFields,
      },
      'request completed',
    )
  })
}
