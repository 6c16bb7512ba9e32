import type { FromSchema } from 'json-schema-to-ts'
import { modelRefSchema } from './prediction-schema.ts'

/**
 * A replica's answer to `GET /readyz` (200 when ready, 503 with a reason when not): its load and the models it
 * serves. The replica serialises with it; the gateway's health checker reads probes as it.
 */
export const replicaReadinessSchema = {
  type: 'object',
  required: ['ready', 'inflight', 'queue', 'models'],
  properties: {
    ready: { type: 'boolean' },
    reason: { type: 'string' },
    replica: { type: 'string' },
    inflight: { type: 'integer' },
    queue: { type: 'integer' },
    models: { type: 'array', items: modelRefSchema, description: 'the models served, the default first' },
  },
} as const

export type ReplicaReadiness = FromSchema<typeof replicaReadinessSchema>
