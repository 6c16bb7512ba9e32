import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import { createDiscovery, type DiscoveryEdges } from '../discovery/create-discovery.ts'
import type { Discovery } from '../discovery/discovery.ts'
import type { DiscoveryConfig } from '../discovery/settings.ts'
import { HealthChecker } from './health-checker.ts'
import { registerPoolMetrics } from './pool-metrics.ts'
import { ReplicaPool } from './replica-pool.ts'
import { healthCheckOptions, type ReplicaHealthConfig, type ReplicaSlotConfig, replicaPoolOptions } from './settings.ts'

export interface RunningPool {
  pool: ReplicaPool
  health: HealthChecker
  discovery: Discovery
  /** Start discovery (its replicas join the pool) and the health checks. */
  discover(): Promise<void>
  /** Stop the health checks, then discovery (local replicas exit), then close the pool's connections. */
  stop(): Promise<void>
}

/**
 * The replica pool, its health checker and the discovery that fills it, wired together (not yet discovering: see
 * `discover`). Changes of routability go to the log; the pool's metrics to the registry.
 */
export function startPool(
  config: ReplicaSlotConfig & ReplicaHealthConfig & DiscoveryConfig,
  registry: Registry,
  logger: FastifyBaseLogger,
  edges: DiscoveryEdges,
): RunningPool {
  const pool = new ReplicaPool(replicaPoolOptions(config))
  pool.on('routability', (replica, routable, cause) =>
    logger.info({ replica: replica.url, routable, ready: replica.ready, cause }, 'replica routability changed'),
  )
  registerPoolMetrics(registry, pool)
  const health = new HealthChecker(pool, healthCheckOptions(config), logger)
  // A replica discovery just announced is probed at once rather than at the next tick.
  pool.on('added', (replica) => void health.probe(replica))
  const discovery = createDiscovery(config, logger, edges)
  return {
    pool,
    health,
    discovery,
    discover: async () => {
      await discovery.start((urls) => pool.setTargets(urls))
      health.start()
    },
    stop: async () => {
      await health.stop()
      await discovery.stop()
      await pool.close()
    },
  }
}
