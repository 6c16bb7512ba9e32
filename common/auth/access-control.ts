import type { FastifyInstance } from 'fastify'
import { ServiceError } from '../errors.ts'
import { sendError } from '../http/error-handling.ts'
import { decideAccess, type RequiredRole } from './roles.ts'
import { bearerToken, type Holder, type TokenSet } from './token-set.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role this route needs (see common/auth/roles.ts); none declared means `admin`. */
    role?: RequiredRole
  }
  interface FastifyRequest {
    /** Who presented a valid token (null: nobody did, or tokens are not configured). */
    holder: Holder | null
  }
}

export interface AccessControlOptions {
  /** The tokens accepted now (re-read on rotation); undefined: no tokens file, nothing is enforced. */
  tokens: (() => TokenSet) | undefined
  /** Whether `predict` routes need a token too (otherwise they are open). */
  predictNeedsToken: boolean
}

const CHALLENGE = 'Bearer realm="switchyard"'

/**
 * Credentials and roles are checked here and nowhere else: one onRequest hook (before any body is read) asks the pure
 * decideAccess about the route's declared role and the presented bearer token, and answers 401 `unauthorized` (with
 * `WWW-Authenticate`) or 403 `forbidden`. Must be installed before routes are declared.
 */
export function installAccessControl(app: FastifyInstance, options: AccessControlOptions): void {
  app.decorateRequest('holder', null)
  // The OpenAPI document says which routes take a token, and that they may answer 401 and 403 (predictions: optional).
  app.addHook('onRoute', (route) => {
    const role = (route.config as { role?: RequiredRole } | undefined)?.role
    const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined
    if (role === 'open' || !schema || schema.hide) return
    const refused = { $ref: 'ErrorBody#' }
    route.schema = {
      ...schema,
      security: role === 'predict' ? [{}, { bearer: [] }] : [{ bearer: [] }],
      ...(schema.response && { response: { 401: refused, 403: refused, ...schema.response } }),
    } as typeof route.schema
  })
  app.addHook('onRequest', async (request, reply) => {
    // Unknown URLs answer 404 whatever the token.
    if (request.is404) return
    const token = bearerToken(request.headers.authorization)
    const holder = token !== undefined && options.tokens ? (options.tokens().lookup(token) ?? null) : null
    request.holder = holder
    const decision = decideAccess({
      required: request.routeOptions.config.role,
      enforced: options.tokens !== undefined,
      predictNeedsToken: options.predictNeedsToken,
      presented: token === undefined ? undefined : (holder?.role ?? null),
    })
    if (decision === 'allow') return
    // Refusals are worth a line each (someone probing, a client with a stale token); never the token itself.
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: decision === 'unauthorized' ? 401 : 403,
        holder: holder?.name,
      },
      'access refused',
    )
    if (decision === 'unauthorized') {
      reply.header('www-authenticate', token === undefined ? CHALLENGE : `${CHALLENGE}, error="invalid_token"`)
      const message =
        token === undefined
          ? 'this endpoint needs a token: send Authorization: Bearer <token>'
          : 'the token presented is not valid'
      return sendError(request, reply, new ServiceError('unauthorized', message))
    }
    return sendError(
      request,
      reply,
      new ServiceError(
        'forbidden',
        `a ${holder?.role} token may not use this endpoint; it needs ${request.routeOptions.config.role ?? 'admin'}`,
      ),
    )
  })
}

/** A plugin-scoped hook that marks every route declared after it in that scope (static files, say) as open. */
export function openRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, role: 'open' }
  })
}
