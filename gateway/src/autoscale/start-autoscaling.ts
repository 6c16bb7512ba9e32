import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import type { Discovery } from '../discovery/discovery.ts'
import type { Resolver } from '../discovery/dns.ts'
import type { DiscoveryConfig } from '../discovery/settings.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import type { ReplicaSlotConfig } from '../pool/settings.ts'
import { createActuator, currentScale } from './actuators/create-actuator.ts'
import { registerAutoscaleMetrics } from './autoscale-metrics.ts'
import { type Actuator, Autoscaler } from './autoscaler.ts'
import type { ClusterConfig } from './cluster-settings.ts'
import { gatewayCluster } from './gateway-cluster.ts'
import { kubernetesClient } from './kubernetes-api.ts'
import { type KubernetesConfig, kubernetesConnection } from './kubernetes-settings.ts'
import { type AutoscaleConfig, autoscalerOptions } from './settings.ts'

export type AutoscalingConfig = AutoscaleConfig &
  KubernetesConfig &
  ClusterConfig &
  Pick<ReplicaSlotConfig, 'slotsPerReplica'> &
  Pick<DiscoveryConfig, 'discovery' | 'localReplicas'> & { autoscaler: 'none' | 'local' | 'kubernetes' }

/** What the autoscaler reads and acts on, made by the rest of the gateway. */
export interface AutoscalingEdges {
  discovery: Discovery
  pool: ReplicaPool
  /** Requests waiting for a replica: the backlog the autoscaler plans to drain. */
  queue: { readonly size: number }
  registry: Registry
  logger: FastifyBaseLogger
  /** DNS resolver for PEER_DNS_NAME (tests inject one). */
  resolve?: Resolver
  /** The token this gateway shows its peers (PEER_TOKEN_FILE), read afresh on each call. */
  peerToken?: () => string | undefined
}

export interface RunningAutoscaling {
  autoscaler: Autoscaler
  /** What makes the desired count happen; undefined with AUTOSCALER=none (the count is a signal only). */
  actuator: Actuator | undefined
  /**
   * No more ticks, and the Lease released if held: another gateway takes over scaling at once rather than after the
   * lease expires.
   */
  stop(): Promise<void>
}

/**
 * The autoscaler with the actuator AUTOSCALER names, among the other gateways over the same replicas, ticking every
 * AUTOSCALE_INTERVAL_MS from now on; its signal is on the registry and its errors and changes of mind in the log.
 */
export async function startAutoscaling(
  config: AutoscalingConfig,
  edges: AutoscalingEdges,
): Promise<RunningAutoscaling> {
  const { discovery, pool, queue, logger } = edges
  const actuator = await createActuator(config, discovery, pool)
  const kube = config.autoscaler === 'kubernetes' ? await kubernetesClient(kubernetesConnection(config)) : undefined
  const cluster = gatewayCluster(config, kube, logger, edges.resolve, edges.peerToken)
  const autoscaler = new Autoscaler(
    autoscalerOptions(config),
    actuator,
    () => ({ backlog: queue.size, readyReplicas: pool.readyCount() }),
    Date.now(),
    config.discovery === 'local' ? config.localReplicas : await currentScale(actuator, logger),
    cluster.cluster,
  )
  registerAutoscaleMetrics(edges.registry, autoscaler)
  autoscaler.on('error', (error) => logger.error({ err: error }, 'scaling failed'))
  let lastDesired = autoscaler.desired
  autoscaler.on('decision', (status) => {
    if (status.desired !== lastDesired)
      logger.info({ desired: status.desired, inputs: status.inputs }, 'desired replicas changed')
    lastDesired = status.desired
  })
  const timer = setInterval(() => {
    cluster.refresh()
    autoscaler.tick(Date.now())
  }, config.autoscaleIntervalMs)
  cluster.start()
  return {
    autoscaler,
    actuator,
    stop: async () => {
      clearInterval(timer)
      await cluster.stop()
    },
  }
}
