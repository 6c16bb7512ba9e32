import { Counter, Histogram, type Registry } from 'prom-client'
import { LATENCY_BUCKETS_SECONDS } from '../../../common/metrics-buckets.ts'

export type VersionMetrics = ReturnType<typeof registerVersionMetrics>

/** Per model version, on the gateway's registry: requests, failures (what the canary rule compares) and latency. */
export function registerVersionMetrics(registry: Registry) {
  const registers = [registry]
  return {
    modelRequests: new Counter({
      name: 'gateway_model_requests_total',
      help: 'Prediction requests per model version (the version that ran, or was chosen), by HTTP status',
      labelNames: ['model', 'version', 'status'] as const,
      registers,
    }),
    modelErrors: new Counter({
      name: 'gateway_model_errors_total',
      help: 'Requests a model version failed (5xx, no answer): what the canary rule compares',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    modelSeconds: new Histogram({
      name: 'gateway_model_duration_seconds',
      help: 'Time a model version took to answer (at the replica, network included), per version',
      labelNames: ['model', 'version'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
  }
}
