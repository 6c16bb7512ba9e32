import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { LATENCY_BUCKETS_SECONDS } from '../../common/metrics-buckets.ts'
import type { ModelInfo } from './model/provision.ts'

export interface ReplicaLoad {
  inflight: () => number
  queued: () => number
  /** The process's decoding queue (PreprocessSlots). */
  preprocess: { waiting: number; busy: number; started: number }
}

export type ReplicaMetrics = ReturnType<typeof createReplicaMetrics>

/** A registry per replica instance, so several replicas in one test process do not share counters. */
export function createReplicaMetrics(models: readonly ModelInfo[], load: ReplicaLoad, maxBatchSize: number) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const timing = (name: string, help: string) =>
    new Histogram({ name, help, buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] })
  const metrics = {
    registry,
    requests: new Counter({
      name: 'replica_requests_total',
      help: 'Prediction requests answered, by HTTP status, error code and model',
      labelNames: ['status', 'code', 'model'] as const,
      registers: [registry],
    }),
    queueSeconds: timing('replica_queue_seconds', 'Time a preprocessed image waited for the model'),
    preprocessSeconds: timing('replica_preprocess_seconds', 'Image decode, resize and normalisation time'),
    inferenceSeconds: timing('replica_inference_seconds', 'Duration of each model batch'),
    requestSeconds: timing('replica_request_duration_seconds', 'Total time from request start to answer'),
    dropped: new Counter({
      name: 'replica_dropped_total',
      help: 'Requests dropped before work nobody waits for: before decoding (stage preprocess) or when their batch formed (stage inference), because the client had gone (client_closed) or the deadline had passed (deadline_exceeded)',
      labelNames: ['stage', 'reason'] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'replica_batch_size',
      help: 'Images per model batch',
      buckets: Array.from({ length: maxBatchSize }, (_, i) => i + 1),
      registers: [registry],
    }),
  }
  new Gauge({
    name: 'replica_inflight',
    help: 'Prediction requests admitted and not yet answered',
    registers: [registry],
    collect() {
      this.set(load.inflight())
    },
  })
  new Gauge({
    name: 'replica_queue_depth',
    help: 'Admitted requests not inside the running batch',
    registers: [registry],
    collect() {
      this.set(load.queued())
    },
  })
  new Gauge({
    name: 'replica_preprocess_waiting',
    help: 'Requests waiting for a decoding slot (PREPROCESS_SLOTS)',
    registers: [registry],
    collect() {
      this.set(load.preprocess.waiting)
    },
  })
  new Gauge({
    name: 'replica_preprocessing',
    help: 'Images being decoded now',
    registers: [registry],
    collect() {
      this.set(load.preprocess.busy)
    },
  })
  new Counter({
    name: 'replica_preprocess_started_total',
    help: 'Images whose decoding started (a request dropped before decoding is not among them)',
    registers: [registry],
    collect() {
      // The count is kept by the decoding queue; this mirrors it.
      this.reset()
      this.inc(load.preprocess.started)
    },
  })
  const modelInfo = new Gauge({
    name: 'replica_model_info',
    help: 'The models this replica serves (value is always 1)',
    labelNames: ['name', 'version', 'pretrained'] as const,
    registers: [registry],
  })
  for (const model of models) {
    modelInfo.set({ name: model.name, version: model.version, pretrained: String(model.pretrained) }, 1)
  }
  return metrics
}
