import { hostname } from 'node:os'
import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import type { KubernetesConfig } from './kubernetes-settings.ts'
import type { LeaseElectorOptions } from './lease-elector.ts'

/** This gateway among several over the same replicas: who it is, who its peers are, and the Lease they share. */
export const clusterSettings = {
  gatewayId: setting({
    env: 'GATEWAY_ID',
    flag: 'gateway-id',
    description:
      'This gateway among several: its Lease holder identity and how peers tell it apart (default: the host name, a pod name in Kubernetes)',
    parse: parse.string(),
    default: () => hostname(),
  }),
  peerDnsName: setting<string | undefined>({
    env: 'PEER_DNS_NAME',
    flag: 'peer-dns-name',
    description:
      'Other gateways over the same replicas: a DNS name with an address per gateway (a headless Service); the autoscaler sizes for their demand too',
    parse: parse.string(),
    default: undefined,
  }),
  peerPort: setting<number | undefined>({
    env: 'PEER_PORT',
    flag: 'peer-port',
    description: 'Port the gateways behind PEER_DNS_NAME listen on (default: PORT)',
    parse: parse.integer({ min: 1, max: 65535 }),
    default: undefined,
  }),
  peers: setting({
    env: 'PEERS',
    flag: 'peers',
    description: 'Other gateways over the same replicas, as comma-separated URLs (instead of PEER_DNS_NAME)',
    parse: parse.list(parse.httpUrl()),
    default: [] as string[],
  }),
  leaseName: setting<string | undefined>({
    env: 'KUBE_LEASE_NAME',
    flag: 'kube-lease-name',
    description:
      'kubernetes: the Lease whose holder alone scales the Deployment (default: <KUBE_DEPLOYMENT>-autoscaler)',
    parse: parse.string(),
    default: undefined,
  }),
  leaseDurationS: setting({
    env: 'KUBE_LEASE_DURATION_S',
    flag: 'kube-lease-duration-s',
    description: 'kubernetes: a leader that stops renewing is replaced after this long',
    parse: parse.integer({ min: 2, max: 3600 }),
    default: 15,
  }),
  leaseRenewDeadlineS: setting({
    env: 'KUBE_LEASE_RENEW_DEADLINE_S',
    flag: 'kube-lease-renew-deadline-s',
    description: 'kubernetes: a leader that has not renewed for this long stops scaling (below the lease duration)',
    parse: parse.integer({ min: 1, max: 3600 }),
    default: 10,
  }),
  leaseRetryPeriodS: setting({
    env: 'KUBE_LEASE_RETRY_PERIOD_S',
    flag: 'kube-lease-retry-period-s',
    description: 'kubernetes: how often each gateway tries to acquire or renew the Lease',
    parse: parse.integer({ min: 1, max: 3600 }),
    default: 2,
  }),
}

/** With the defaults that depend on other settings filled in (gateway/src/config.ts). */
export type ClusterConfig = Omit<ConfigOf<typeof clusterSettings>, 'peerPort' | 'leaseName'> & {
  /** Default: this gateway's PORT. */
  readonly peerPort: number
  /** Default: `<KUBE_DEPLOYMENT>-autoscaler`. */
  readonly leaseName: string
}

/** The Lease this gateway competes for, and how, as its configuration says. */
export function leaseElectorOptions(
  config: ClusterConfig & Pick<KubernetesConfig, 'kubeNamespace'>,
): LeaseElectorOptions {
  return {
    namespace: config.kubeNamespace,
    name: config.leaseName,
    identity: config.gatewayId,
    leaseDurationS: config.leaseDurationS,
    renewDeadlineS: config.leaseRenewDeadlineS,
    retryPeriodS: config.leaseRetryPeriodS,
  }
}
