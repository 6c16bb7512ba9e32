import type { FromSchema } from 'json-schema-to-ts'

/**
 * The answer to `POST /predict`, as replicas send it and the gateway passes it on (the gateway's schema extends
 * this one). Declared once so validation, serialisation and the OpenAPI document agree.
 */
const classScore = {
  type: 'object',
  required: ['label', 'class_index', 'confidence'],
  properties: {
    label: { type: 'string' },
    class_index: { type: 'integer', minimum: 0 },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const

export const modelRefSchema = {
  type: 'object',
  required: ['name', 'version', 'pretrained'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    pretrained: { type: 'boolean', description: 'false: untrained weights, predictions are meaningless' },
  },
} as const

export const predictionProperties = {
  prediction: { type: 'string', description: '"<label>: <confidence>%" (the seed API)', examples: ['tench: 87.13%'] },
  label: { type: 'string' },
  class_index: { type: 'integer', minimum: 0 },
  confidence: { type: 'number', minimum: 0, maximum: 1 },
  top5: { type: 'array', items: classScore, maxItems: 5 },
  model: modelRefSchema,
  timing_ms: {
    type: 'object',
    required: ['queue', 'preprocess', 'inference', 'total'],
    properties: {
      queue: { type: 'number', description: 'waiting for the model inside the replica' },
      preprocess: { type: 'number' },
      inference: { type: 'number', description: 'duration of the batch this image ran in' },
      total: { type: 'number' },
    },
  },
  batch_size: { type: 'integer', minimum: 1 },
  replica: { type: 'string', description: 'which replica answered' },
  request_id: { type: 'string' },
  warning: { type: 'string', description: 'present when the model is untrained' },
} as const

export const predictionRequired = [
  'prediction',
  'label',
  'class_index',
  'confidence',
  'top5',
  'model',
  'timing_ms',
  'request_id',
] as const

export const predictionSchema = {
  type: 'object',
  required: predictionRequired,
  properties: predictionProperties,
} as const

export const deadlineHeadersSchema = {
  type: 'object',
  properties: {
    'x-request-id': { type: 'string', description: 'echoed; generated when absent or unsafe' },
    'x-timeout-ms': { type: 'string', description: 'budget for this request in ms (0–3600000)' },
    'x-deadline-ms': { type: 'string', description: 'absolute deadline, epoch ms' },
  },
} as const

/**
 * The gateway's answer to `POST /predict`: a replica's answer, plus the gateway's queue, which replica served it
 * and the gateway's own timings. The gateway validates and serialises with it; the load tester reads answers as it.
 */
export const gatewayPredictionSchema = {
  type: 'object',
  required: [...predictionRequired, 'queue_size', 'replica'],
  properties: {
    ...predictionProperties,
    queue_size: { type: 'integer', description: 'requests waiting in the gateway queue when this one was answered' },
    replica: { type: 'string', description: 'URL of the replica that served it' },
    replica_id: { type: 'string', description: 'the name the replica gives itself' },
    degraded: {
      type: 'boolean',
      description:
        'true: brownout, the model asked for would not have answered in time, so its fallback did (`model` names it)',
    },
    degraded_from: { type: 'string', description: 'when degraded: the version it would have run (NAME@VERSION)' },
    timing_ms: {
      type: 'object',
      required: ['gateway_queue', 'upstream', 'total'],
      properties: {
        ...predictionProperties.timing_ms.properties,
        gateway_queue: { type: 'number', description: 'waiting in the gateway queue (all attempts)' },
        upstream: { type: 'number', description: 'the answering replica, network included' },
        replica_total: { type: 'number', description: 'the replica’s own total' },
        total: { type: 'number', description: 'end to end at the gateway' },
      },
    },
  },
} as const

export type GatewayPrediction = FromSchema<typeof gatewayPredictionSchema>
