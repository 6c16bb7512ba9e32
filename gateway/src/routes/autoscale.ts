import type { FastifyInstance } from 'fastify'
import type { Autoscaler } from '../autoscale/autoscaler.ts'

const number = { type: 'number' } as const

export function registerAutoscaleRoute(app: FastifyInstance, autoscaler: Autoscaler): void {
  app.get('/autoscale', {
    schema: {
      summary: 'The scaling signal: the desired replica count, what it was computed from, and the policy',
      response: {
        200: {
          type: 'object',
          properties: {
            desired: { type: 'integer', description: 'after scale-down stabilisation; also gateway_desired_replicas' },
            actuator: { type: 'string', enum: ['none', 'local', 'kubernetes'] },
            updated_at: { type: 'string' },
            decision: {
              type: 'object',
              properties: {
                recommended: { type: 'integer' },
                shortWindow: { type: 'integer' },
                longWindow: { type: 'integer' },
                panic: { type: 'boolean' },
              },
            },
            inputs: {
              type: 'object',
              properties: {
                arrivalRateShort: number,
                arrivalRateLong: number,
                serviceTimeS: number,
                serviceTimeCv2: { ...number, description: 'squared coefficient of variation of the service time' },
                backlog: number,
                slotsPerReplica: number,
                readyReplicas: number,
                arrivalTrend: { ...number, description: 'rise of arrivals beyond noise, req/s per second' },
                startupS: { ...number, description: 'start-up measured from ask to ready (the configured one before)' },
              },
            },
            policy: { type: 'object', additionalProperties: true },
          },
        },
        503: { $ref: 'ErrorBody#' },
      },
    },
    handler: async () => autoscaler.status,
  })
}
