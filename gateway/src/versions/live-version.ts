import type { FromSchema } from 'json-schema-to-ts'
import { STAGES } from '../../../common/model-registry/state.ts'

const nullableNumber = { type: ['number', 'null'] } as const

/**
 * One model version as GET /live shows it: its stage and weight, and how it did in the canary's sliding window.
 * Here, with the lifecycle that computes it, so the route imports it rather than the lifecycle importing a route.
 */
export const liveVersionSchema = {
  type: 'object',
  required: ['model', 'version', 'stage', 'weight', 'requests', 'errors', 'p50_ms', 'p95_ms'],
  additionalProperties: false,
  properties: {
    model: { type: 'string' },
    version: { type: 'string' },
    stage: { type: 'string', enum: STAGES },
    weight: { type: 'number' },
    requests: { type: 'integer' },
    errors: { type: 'integer' },
    p50_ms: nullableNumber,
    p95_ms: nullableNumber,
  },
} as const

export type LiveVersion = FromSchema<typeof liveVersionSchema>
