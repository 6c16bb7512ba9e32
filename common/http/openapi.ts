import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

export interface DeclaredRoute {
  method: string
  url: string
  /** Left out of the OpenAPI document on purpose (the document itself, static files). */
  hidden: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    declaredRoutes: readonly DeclaredRoute[]
  }
}

/**
 * OpenAPI document built from the route schemas, served as `/openapi.json` and browsable at `/docs` (assets come
 * from the npm package, so it works offline). Must be awaited before routes are declared so it sees them all.
 */
export async function installOpenApi(app: FastifyInstance, info: { title: string; description: string }) {
  // Every route as declared, so a test can check each one is documented (Fastify has no route listing API).
  const routes: DeclaredRoute[] = []
  app.decorate('declaredRoutes', routes)
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true
    for (const method of methods) routes.push({ method, url: route.url, hidden })
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { ...info, version: '0.1.0' },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A token of the TOKENS_FILE (roles admin ⊃ batch ⊃ predict); needed only when the service has one',
          },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
