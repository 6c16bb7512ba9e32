import type { FastifyBaseLogger } from 'fastify'
import { addressToUrl, type Resolver, systemResolver } from '../discovery/dns.ts'
import type { GatewayCluster } from './autoscaler.ts'
import { type ClusterConfig, leaseElectorOptions } from './cluster-settings.ts'
import type { KubernetesRequest } from './kubernetes-api.ts'
import type { KubernetesConfig } from './kubernetes-settings.ts'
import { LeaseElector } from './lease-elector.ts'
import { PeerDemand } from './peer-demand.ts'
import type { AutoscaleConfig } from './settings.ts'

export interface RunningCluster {
  cluster: GatewayCluster
  /** Fetch the peers' demand again (in the background; once per autoscaler tick). */
  refresh(): void
  start(): void
  /** Stop electing and release the Lease if held, so another gateway scales while this one drains. */
  stop(): Promise<void>
}

/**
 * This gateway among the others over the same replicas: their demand from PEER_DNS_NAME or PEERS, and with the
 * kubernetes actuator a Lease that decides which one of them writes the scale. Alone (no peers, no Lease), it
 * always leads.
 */
export function gatewayCluster(
  config: ClusterConfig & Pick<KubernetesConfig, 'kubeNamespace'> & Pick<AutoscaleConfig, 'autoscaleIntervalMs'>,
  kube: KubernetesRequest | undefined,
  log: FastifyBaseLogger,
  resolve: Resolver = systemResolver,
  peerToken?: () => string | undefined,
): RunningCluster {
  const { peerDnsName, peerPort, peers: staticPeers } = config
  const list = peerDnsName
    ? async () => [...new Set(await resolve(peerDnsName))].map((address) => addressToUrl(address, peerPort))
    : staticPeers.length > 0
      ? async () => staticPeers
      : undefined
  const demand =
    list &&
    new PeerDemand({
      self: config.gatewayId,
      list,
      // A peer missing a few ticks in a row has gone (or is too busy to say): its share stops counting.
      maxAgeMs: Math.max(3000, 5 * config.autoscaleIntervalMs),
      timeoutMs: Math.min(2000, Math.max(250, config.autoscaleIntervalMs)),
      token: peerToken,
      onAuthChange: (url, refused) =>
        refused === undefined
          ? log.info({ peer: url }, 'peer accepts our token again')
          : log.warn(
              { peer: url, status: refused },
              "peer refused our token: its demand does not count (check PEER_TOKEN_FILE against the peer's TOKENS_FILE)",
            ),
    })
  const elector = kube && new LeaseElector(kube, leaseElectorOptions(config))
  elector?.on('error', (error) => log.warn({ err: error, lease: config.leaseName }, 'leader election round failed'))
  elector?.on('leading', (leading) =>
    log.info(
      { lease: config.leaseName, identity: config.gatewayId, leading },
      leading ? 'leading: this gateway scales the replicas' : 'no longer leading',
    ),
  )
  return {
    cluster: clusterOf(config.gatewayId, demand, elector),
    refresh: () => void demand?.refresh(),
    start: () => elector?.start(),
    stop: async () => {
      await elector?.stop()
    },
  }
}

/** This gateway's view of the others: their fresh demand, and whether it may actuate. */
export function clusterOf(
  identity: string,
  demand: PeerDemand | undefined,
  elector: LeaseElector | undefined,
): GatewayCluster {
  return {
    identity,
    peers: demand ? (now) => demand.peers(now) : () => [],
    // A leader that has not yet asked its peers would size from its own share alone: it waits one round for them.
    leads: elector ? (now) => elector.isLeader(now) && (demand?.asked ?? true) : () => true,
  }
}
