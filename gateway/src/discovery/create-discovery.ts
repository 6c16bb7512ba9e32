import type { FastifyBaseLogger } from 'fastify'
import type { Discovery } from './discovery.ts'
import { DnsDiscovery, type Resolver } from './dns.ts'
import { LocalReplicas } from './local.ts'
import type { DiscoveryConfig } from './settings.ts'
import { StaticDiscovery } from './static.ts'

/** What discovery takes from outside its settings: tests inject a resolver and read local replicas' logs. */
export interface DiscoveryEdges {
  resolve?: Resolver
  onReplicaLog?: (line: string) => void
}

/** The discovery DISCOVERY names, set up as its settings say (not started). */
export function createDiscovery(config: DiscoveryConfig, logger: FastifyBaseLogger, edges: DiscoveryEdges): Discovery {
  switch (config.discovery) {
    case 'static':
      return new StaticDiscovery(config.replicas, config.replicasFile, logger)
    case 'dns':
      return new DnsDiscovery(
        { hostname: config.dnsName!, port: config.dnsPort, intervalMs: config.dnsIntervalMs, resolve: edges.resolve },
        logger,
      )
    case 'local':
      return new LocalReplicas(
        { count: config.localReplicas, args: config.localReplicaArgs, onLog: edges.onReplicaLog },
        logger,
      )
  }
}
