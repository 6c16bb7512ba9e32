import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { LATENCY_BUCKETS_SECONDS } from '../../../common/metrics-buckets.ts'

export type DispatchMetrics = ReturnType<typeof registerDispatchMetrics>

/** The dispatcher's metrics, on the gateway's registry; `busy` reads the attempts in flight now. */
export function registerDispatchMetrics(registry: Registry, busy: () => number) {
  const registers = [registry]
  // Named when the in-flight cap was WORKERS (now MAX_IN_FLIGHT_TO_REPLICAS): dashboards, alerts and the experiment read this name.
  new Gauge({
    name: 'gateway_workers_busy',
    help: 'Requests in flight to replicas',
    registers,
    collect() {
      this.set(busy())
    },
  })
  return {
    queueWaitSeconds: new Histogram({
      name: 'gateway_queue_wait_seconds',
      help: 'Time a request waited in the gateway queue before being sent to a replica',
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
  }
}
