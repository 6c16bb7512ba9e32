import { Counter, Gauge, type Registry } from 'prom-client'
import { isEjected } from './outlier.ts'
import type { ReplicaPool } from './replica-pool.ts'

/** The replica pool on the gateway's registry: who is ready, who is ejected, and what each one holds. */
export function registerPoolMetrics(registry: Registry, pool: ReplicaPool): void {
  const registers = [registry]
  new Gauge({
    name: 'gateway_replicas_ready',
    help: 'Replicas ready for traffic',
    registers,
    collect() {
      this.set(pool.readyCount())
    },
  })
  new Gauge({
    name: 'gateway_replicas_ejected',
    help: 'Replicas taken out of routing by outlier detection (consecutive failures), now',
    registers,
    collect() {
      this.set(pool.all.filter((replica) => isEjected(replica.outlier)).length)
    },
  })
  new Gauge({
    name: 'gateway_replica_outstanding',
    help: 'Requests in flight, per replica',
    labelNames: ['replica'] as const,
    registers,
    collect() {
      this.reset()
      for (const replica of pool.all) this.set({ replica: replica.url }, replica.outstanding)
    },
  })
  // A counter as well as the gauge: an ejection shorter than a scrape interval still shows as an increase.
  const ejections = new Counter({
    name: 'gateway_replica_ejections_total',
    help: 'Times outlier detection ejected a replica from routing',
    registers,
  })
  pool.on('ejected', () => ejections.inc())
}
