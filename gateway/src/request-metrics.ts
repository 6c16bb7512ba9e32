import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { LATENCY_BUCKETS_SECONDS } from '../../common/metrics-buckets.ts'

const REJECTION_REASONS = [
  'queue_full',
  'deadline',
  'too_large',
  'no_replica',
  'shutting_down',
  'client_closed',
  'receiving_full',
] as const

export type RequestMetrics = ReturnType<typeof registerRequestMetrics>
/** Requests not answered with a prediction: counted where they are refused (admission) or given up (dispatch). */
export type RejectionCounter = RequestMetrics['rejected']

/**
 * What became of prediction requests, on the gateway's registry: answers by status and their latency, refusals by
 * reason, brownout's degraded answers, and the objective (SLO_MS, in seconds) alerts compare the latency to.
 */
export function registerRequestMetrics(registry: Registry, sloSeconds: number) {
  const registers = [registry]
  new Gauge({
    name: 'gateway_slo_seconds',
    help: 'The latency objective (SLO_MS) in seconds',
    registers,
    collect() {
      this.set(sloSeconds)
    },
  })
  const rejected = new Counter({
    name: 'gateway_rejected_total',
    help: 'Requests not answered with a prediction, by reason',
    labelNames: ['reason'] as const,
    registers,
  })
  // Every reason exists from the start (at 0), so dashboards and alerts see a series rather than no data.
  for (const reason of REJECTION_REASONS) rejected.inc({ reason }, 0)
  return {
    rejected,
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Prediction requests answered, by HTTP status',
      labelNames: ['status'] as const,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'End-to-end time at the gateway, queue wait included',
      labelNames: ['status'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    degradedAnswers: new Counter({
      name: 'gateway_degraded_answers_total',
      help: 'Brownout: requests for a model answered 200 by its fallback (it would not have answered in time)',
      labelNames: ['model', 'fallback'] as const,
      registers,
    }),
  }
}
