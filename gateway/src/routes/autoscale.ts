import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { Autoscaler } from '../autoscale/autoscaler.ts'

const number = { type: 'number' } as const

/** What the policy is computed from (ScalingInputs). */
const inputsSchema = {
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
} as const

/** `GET /autoscale`: the scaling signal and what it was computed from. */
export const autoscaleRoute: FastifyPluginAsyncJsonSchemaToTs<{ Options: { autoscaler: Autoscaler } }> = async (
  app,
  { autoscaler },
) => {
  // Peers read it (PEER_TOKEN_FILE): only a holder of an admin token can feed another gateway's scaling.
  app.get('/autoscale', {
    config: { role: 'admin' },
    schema: {
      summary: 'The scaling signal: the desired replica count, what it was computed from, and the policy',
      response: {
        200: {
          type: 'object',
          properties: {
            desired: { type: 'integer', description: 'after scale-down stabilisation; also gateway_desired_replicas' },
            standbys: {
              type: 'integer',
              description: 'warm standbys wanted beside the desired replicas (STANDBY); also gateway_desired_standbys',
            },
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
              ...inputsSchema,
              description: 'the demand of the whole pool: that of this gateway and of its peers, added up',
            },
            local_inputs: {
              ...inputsSchema,
              description: 'what this gateway measured of its own share (what peers add up)',
            },
            gateway: { type: 'string', description: 'the identity of this gateway (its pod name in Kubernetes)' },
            peers: { type: 'integer', description: 'other gateways whose demand counted' },
            leader: { type: 'boolean', description: 'whether this gateway actuates (holds the Lease; always, alone)' },
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
