import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * OpenAPI document built from the route schemas, served as `/openapi.json` and browsable at `/docs` (assets come
 * from the npm package, so it works offline). Must be awaited before routes are declared so it sees them all.
 */
export async function installOpenApi(app: FastifyInstance, info: { title: string; description: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { ...info, version: '0.1.0' },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
