import type { FromSchema } from 'json-schema-to-ts'

/**
 * One replica as the gateway sees it, for people: `GET /replicas` and `GET /live` both answer with it, by this
 * schema's `$id` (registered once on the app), so the two views cannot drift apart.
 */
export const replicaViewSchema = {
  $id: 'ReplicaView',
  type: 'object',
  required: [
    'url',
    'ready',
    'routable',
    'ejected',
    'draining',
    'outstanding',
    'reported_inflight',
    'refusing',
    'slots',
    'ewma_latency_ms',
    'dispatched',
    'failures',
    'consecutive_failures',
    'ejections',
    'ejected_until',
    'models',
    'versions',
  ],
  properties: {
    url: { type: 'string' },
    ready: { type: 'boolean', description: 'the readiness probes say it is ready' },
    routable: { type: 'boolean', description: 'ready, not draining, not ejected' },
    ejected: { type: 'boolean', description: 'taken out after failed requests, until a probe re-admits it' },
    draining: { type: 'boolean', description: 'leaving: gets no new work' },
    outstanding: { type: 'integer', description: 'requests this gateway has in flight to it' },
    reported_inflight: {
      type: ['integer', 'null'],
      description:
        'requests it holds at least, all gateways together, by its last report (X-Replica-Inflight), while that ' +
        'report counts; null when none does',
    },
    refusing: {
      type: 'boolean',
      description:
        'it refused a request as full (503 replica_full) and the refusal still counts: sent nothing until then',
    },
    slots: { type: 'integer' },
    ewma_latency_ms: { type: ['number', 'null'], description: 'peak-EWMA of upstream latency' },
    dispatched: { type: 'integer' },
    failures: { type: 'integer', description: 'failed attempts, all time' },
    consecutive_failures: { type: 'integer' },
    ejections: { type: 'integer' },
    ejected_until: { type: ['string', 'null'], description: 'ISO time, while ejected' },
    models: { type: 'array', items: { type: 'string' }, description: 'models it serves, its default first' },
    versions: { type: 'array', items: { type: 'string' }, description: 'model versions it serves, as NAME@VERSION' },
  },
  additionalProperties: false,
} as const

export type ReplicaView = FromSchema<typeof replicaViewSchema>

/** Where a route's schema refers to the view. */
export const replicaViewRef = { $ref: 'ReplicaView' } as const

/** Type-provider options that resolve `replicaViewRef` to `ReplicaView` in a route's types. */
export type WithReplicaView = { references: [typeof replicaViewSchema]; deserialize: false }
