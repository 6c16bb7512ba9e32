import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import { errorBodySchema } from '../errors.ts'
import { installAccessLog } from './access-log.ts'
import { installErrorHandling } from './error-handling.ts'
import { installOpenApi } from './openapi.ts'
import { requestIdFrom } from './request-id.ts'

export interface ServiceAppOptions {
  logger: FastifyBaseLogger
  title: string
  description: string
  bodyLimit: number
  /** Time allowed to receive a whole request (headers and body). */
  requestTimeoutMs: number
  /** Which requests get an access-log line (health checks and scrapes would drown the rest). */
  logRequest: (url: string) => boolean
}

/**
 * A Fastify instance with what every Switchyard service shares: safe request ids echoed as `X-Request-Id`,
 * `{error, code, request_id}` errors, one access-log line per request, and the OpenAPI document at `/docs`.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeoutMs,
    return503OnClosing: true,
  })
  app.addSchema(errorBodySchema)
  installErrorHandling(app)
  installAccessLog(app, { skip: (url) => !options.logRequest(url) })
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    done(null, payload)
  })
  await installOpenApi(app, { title: options.title, description: options.description })
  return app
}
