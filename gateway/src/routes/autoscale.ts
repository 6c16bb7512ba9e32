import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { Autoscaler } from '../autoscale/autoscaler.ts'

const number = { type: 'number' } as const

/** `GET /autoscale`: the scaling signal and what it was computed from. */
export const autoscaleRoute: FastifyPluginAsyncJsonSchemaToTs<{ Options: { autoscaler: Autoscaler } }> = async (
  app,
  { autoscaler },
) => {
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
              additionalProperties: false,
              properties: {
                recommended: { type: 'integer' },
                shortWindow: { type: 'integer' },
                longWindow: { type: 'integer' },
                panic: { type: 'boolean' },
              },
            },
            inputs: {
              type: 'object',
              additionalProperties: false,
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
    handler: async () => {
      const status = autoscaler.status
      // The policy is shown as it is, whatever settings it has (the schema does not list them).
      return { ...status, policy: { ...status.policy } }
    },
  })
}
