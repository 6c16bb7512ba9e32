import { createServer } from 'node:http'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import { type AccessControlOptions, installAccessControl } from '../auth/access-control.ts'
import { errorBodySchema } from '../errors.ts'
import { installAccessLog } from './access-log.ts'
import { strictBodyValidators } from './body-validation.ts'
import { answerClientError } from './client-error.ts'
import { installErrorHandling } from './error-handling.ts'
import { answerHalfClosedClients } from './half-close.ts'
import { installOpenApi } from './openapi.ts'
import { installRepeatedFieldCheck } from './repeated-fields.ts'
import { FORWARDED_HEADERS } from './replica-protocol.ts'
import { requestIdFrom } from './request-id.ts'
import { installUnreadBodyDrain } from './unread-body.ts'

export interface ServiceAppOptions {
  logger: FastifyBaseLogger
  title: string
  description: string
  bodyLimit: number
  /** Time allowed to receive a whole request (headers and body). */
  requestTimeoutMs: number
  /** Connections held at once; one more is closed as it opens (Node's server.maxConnections). Default: no limit. */
  maxConnections?: number
  /** Who may call what (every route declares its role; see common/auth/roles.ts). Default: nothing enforced. */
  access?: AccessControlOptions
}

/**
 * A Fastify instance with what every Switchyard service shares: safe request ids echoed as `X-Request-Id`,
 * `{error, code, request_id}` errors, one access-log line per request, access control (a role per route), and the
 * OpenAPI document at `/docs`.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (request) => requestIdFrom(request.headers[FORWARDED_HEADERS.requestId]),
    bodyLimit: options.bodyLimit,
    schemaController: { compilersFactory: { buildValidator: strictBodyValidators } },
    // Node checks request timeouts on a timer (every 30 s by default): a slow-loris body would be cut up to 30 s
    // late. Checking often makes the body timeout mean what it says.
    serverFactory: (handler) => {
      const server = createServer(
        {
          requestTimeout: options.requestTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, Math.max(100, options.requestTimeoutMs / 4)),
          keepAliveTimeout: 72_000,
        },
        handler,
      )
      if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections
      return server
    },
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
  })
  app.addSchema(errorBodySchema)
  installErrorHandling(app)
  installRepeatedFieldCheck(app)
  // Only routes that ask for it (`config: { accessLog: true }`) are logged: health checks and scrapes would drown the rest.
  installAccessLog(app)
  installAccessControl(app, options.access ?? { tokens: undefined, predictNeedsToken: false })
  installUnreadBodyDrain(app, options.bodyLimit)
  answerHalfClosedClients(app)
  // Once closing, an answer still in flight ends its connection: kept alive, it would hold the server's close open
  // for up to its keep-alive timeout after the last answer (Node closes only the connections idle when close begins).
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    reply.header(FORWARDED_HEADERS.requestId, request.id)
    // No response of ours is meant to be sniffed into another type (an error body rendered as HTML, say).
    reply.header('x-content-type-options', 'nosniff')
    done(null, payload)
  })
  await installOpenApi(app, { title: options.title, description: options.description })
  return app
}
