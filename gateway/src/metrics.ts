import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { LATENCY_BUCKETS_SECONDS } from '../../common/metrics-buckets.ts'
import type { AutoscaleStatus } from './autoscale/autoscaler.ts'
import { isEjected } from './pool/outlier.ts'
import type { ReplicaPool } from './pool/replica-pool.ts'

export interface GatewayGaugeSources {
  queueSize: () => number
  queueBytes: () => number
  workersBusy: () => number
  pool: ReplicaPool
  /** QUEUE_MAX: requests the queue holds before answering 503 (alerts compare the queue size to it). */
  queueLimit: number
  /** SLO_MS in seconds (alerts compare the p99 latency to it). */
  sloSeconds: number
  /** The autoscaler's latest status (undefined only while the gateway is being built). */
  autoscale: () => AutoscaleStatus | undefined
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>

export const REJECTION_REASONS = [
  'queue_full',
  'deadline',
  'too_large',
  'no_replica',
  'shutting_down',
  'client_closed',
  'receiving_full',
] as const

export function createGatewayMetrics(sources: GatewayGaugeSources) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read())
      },
    })
  gauge('gateway_queue_size', 'Requests waiting in the gateway queue', sources.queueSize)
  gauge('gateway_queue_limit', 'Requests the gateway queue holds before shedding (QUEUE_MAX)', () => sources.queueLimit)
  gauge('gateway_slo_seconds', 'The latency objective (SLO_MS) in seconds', () => sources.sloSeconds)
  gauge('gateway_queue_bytes', 'Request bytes held by the gateway queue', sources.queueBytes)
  gauge('gateway_workers_busy', 'Requests in flight to replicas', sources.workersBusy)
  gauge('gateway_replicas_ready', 'Replicas ready for traffic', () => sources.pool.readyCount())
  gauge(
    'gateway_replicas_ejected',
    'Replicas taken out of routing by outlier detection (consecutive failures), now',
    () => sources.pool.all.filter((replica) => isEjected(replica.outlier)).length,
  )
  gauge(
    'gateway_desired_replicas',
    'Replicas the autoscaling signal asks for (what KEDA or the actuator scales to)',
    () => sources.autoscale()?.desired ?? 0,
  )
  gauge(
    'gateway_desired_standbys',
    'Warm standbys the autoscaling signal asks for beside the desired replicas (booted, at a small CPU request, not routed to)',
    () => sources.autoscale()?.standbys ?? 0,
  )
  gauge(
    'gateway_autoscaler_leader',
    'Whether this gateway writes the replica count (1 while it holds the Lease; always 1 without an election)',
    () => (sources.autoscale()?.leader ? 1 : 0),
  )
  new Gauge({
    name: 'gateway_arrival_rate',
    help: 'Prediction requests arriving per second, over the short and long autoscaling windows',
    labelNames: ['window'] as const,
    registers,
    collect() {
      const inputs = sources.autoscale()?.inputs
      this.set({ window: 'short' }, inputs?.arrivalRateShort ?? 0)
      this.set({ window: 'long' }, inputs?.arrivalRateLong ?? 0)
    },
  })
  gauge(
    'gateway_service_time_seconds',
    'Mean time a request holds a replica slot (EWMA)',
    () => sources.autoscale()?.inputs.serviceTimeS ?? 0,
  )
  new Gauge({
    name: 'gateway_replica_outstanding',
    help: 'Requests in flight, per replica',
    labelNames: ['replica'] as const,
    registers,
    collect() {
      this.reset()
      for (const replica of sources.pool.all) this.set({ replica: replica.url }, replica.outstanding)
    },
  })
  // A counter as well as the gauge: an ejection shorter than a scrape interval still shows as an increase.
  const ejections = new Counter({
    name: 'gateway_replica_ejections_total',
    help: 'Times outlier detection ejected a replica from routing',
    registers,
  })
  sources.pool.on('ejected', () => ejections.inc())
  const rejected = new Counter({
    name: 'gateway_rejected_total',
    help: 'Requests not answered with a prediction, by reason',
    labelNames: ['reason'] as const,
    registers,
  })
  // Every reason exists from the start (at 0), so dashboards and alerts see a series rather than no data.
  for (const reason of REJECTION_REASONS) rejected.inc({ reason }, 0)
  return {
    registry,
    rejected,
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Prediction requests answered, by HTTP status',
      labelNames: ['status'] as const,
      registers,
    }),
    queueWaitSeconds: new Histogram({
      name: 'gateway_queue_wait_seconds',
      help: 'Time a request waited in the gateway queue before being sent to a replica',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'End-to-end time at the gateway, queue wait included',
      labelNames: ['status'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    upstreamSeconds: new Histogram({
      name: 'gateway_upstream_duration_seconds',
      help: 'Time a replica took to answer, per replica',
      labelNames: ['replica'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
    dispatched: new Counter({
      name: 'gateway_dispatched_total',
      help: 'Attempts sent to each replica (retries included)',
      labelNames: ['replica'] as const,
      registers,
    }),
    retries: new Counter({ name: 'gateway_retries_total', help: 'Attempts retried on another replica', registers }),
    replicaFull: new Counter({
      name: 'gateway_replica_full_total',
      help: 'Attempts a replica refused as full (503 replica_full: other gateways hold it); re-queued, not retries',
      registers,
    }),
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
    degradedAnswers: new Counter({
      name: 'gateway_degraded_answers_total',
      help: 'Brownout: requests for a model answered 200 by its fallback (it would not have answered in time)',
      labelNames: ['model', 'fallback'] as const,
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
