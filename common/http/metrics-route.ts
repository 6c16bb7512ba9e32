import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', {
    schema: { summary: 'Prometheus metrics', produces: ['text/plain'] },
    handler: async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  })
}
