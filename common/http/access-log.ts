import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

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
 * One JSON log line per request of the routes that ask for it (`config: { accessLog: true }`): request_id (via the
 * child logger), status, duration. After the answer; or, for a client whose connection closed before the answer (it
 * left, and the services dropped its work), when it closed, with status 499 and code `client_closed`.
 */
export function installAccessLog(app: FastifyInstance): void {
  app.decorateRequest('logFields', null)
  const logged = (request: FastifyRequest) =>
    request.routeOptions.config.accessLog === true && INFO_OR_LOWER.has(request.log.level)
  const line = (request: FastifyRequest, reply: FastifyReply, status: number, extra: Record<string, unknown>) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        ...request.logFields,
        ...extra,
      },
      'request completed',
    )
  }
  app.addHook('onRequest', (request, reply, done) => {
    done()
    if (!logged(request)) return
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) line(request, reply, 499, { code: 'client_closed' })
    })
  })
  app.addHook('onResponse', (request, reply, done) => {
    done()
    if (logged(request)) line(request, reply, reply.statusCode, {})
  })
}
