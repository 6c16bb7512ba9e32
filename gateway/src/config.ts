import { authSettings } from '../../common/auth/settings.ts'
import { ConfigError, type ConfigOf, type ConfigSource, parseConfig } from '../../common/config.ts'
import { serviceSettings } from '../../common/service-settings.ts'
import { clusterSettings } from './autoscale/cluster-settings.ts'
import { inClusterDefaults, kubernetesSettings } from './autoscale/kubernetes-settings.ts'
import { autoscaleSettings } from './autoscale/settings.ts'
import { batchSettings } from './batch/settings.ts'
import { credentialSettings } from './credentials.ts'
import { discoverySettings } from './discovery/settings.ts'
import { dispatchSettings, retrySettings } from './dispatch/settings.ts'
import { replicaHealthSettings, replicaSlotSettings } from './pool/settings.ts'
import { versionSettings } from './versions/settings.ts'

/**
 * Every gateway setting, in the order --help lists them. Each subsystem owns its settings (and the mapping of them
 * to its options) in a settings module beside its code; this is their union, and below, the checks across them.
 */
export const gatewayConfigSpec = {
  ...serviceSettings(8080, 'the queue may take to drain'),
  ...authSettings({ predictAuth: false, meaning: '(default: predictions, like the web page, stay open)' }),
  ...credentialSettings,
  ...discoverySettings,
  ...replicaSlotSettings,
  ...dispatchSettings,
  ...replicaHealthSettings,
  ...retrySettings,
  ...autoscaleSettings,
  ...versionSettings,
  ...batchSettings,
  ...kubernetesSettings,
  ...clusterSettings,
}

export type GatewayConfig = Omit<ConfigOf<typeof gatewayConfigSpec>, 'autoscaler' | 'peerPort' | 'leaseName'> & {
  readonly autoscaler: 'none' | 'local' | 'kubernetes'
  readonly peerPort: number
  readonly leaseName: string
}

export function loadGatewayConfig(source: ConfigSource): GatewayConfig {
  const parsed = parseConfig(gatewayConfigSpec, source)
  const config = Object.freeze({
    ...parsed,
    peerPort: parsed.peerPort ?? parsed.port,
    leaseName: parsed.leaseName ?? `${parsed.kubeDeployment}-autoscaler`,
    autoscaler: parsed.autoscaler ?? (parsed.discovery === 'local' ? 'local' : 'none'),
    ...inClusterDefaults(parsed, source.env),
  })
  if (config.discovery === 'static' && config.replicas.length === 0 && !config.replicasFile) {
    throw new ConfigError('replicas', 'DISCOVERY=static needs REPLICAS (comma-separated URLs) or REPLICAS_FILE')
  }
  if (config.discovery === 'dns' && !config.dnsName) {
    throw new ConfigError('dnsName', 'DISCOVERY=dns needs REPLICA_DNS_NAME')
  }
  if (config.autoscaler === 'local' && config.discovery !== 'local') {
    throw new ConfigError('autoscaler', 'AUTOSCALER=local scales replica processes, so it needs DISCOVERY=local')
  }
  if (config.autoscaler === 'kubernetes' && !config.kubeApiUrl) {
    throw new ConfigError('kubeApiUrl', 'AUTOSCALER=kubernetes needs KUBE_API_URL (or to run in a pod)')
  }
  if (config.leaseRenewDeadlineS >= config.leaseDurationS) {
    throw new ConfigError(
      'leaseRenewDeadlineS',
      `KUBE_LEASE_RENEW_DEADLINE_S (${config.leaseRenewDeadlineS}) must be below KUBE_LEASE_DURATION_S (${config.leaseDurationS}): a leader must stop before another may start`,
    )
  }
  if (config.leaseRetryPeriodS >= config.leaseRenewDeadlineS) {
    throw new ConfigError(
      'leaseRetryPeriodS',
      `KUBE_LEASE_RETRY_PERIOD_S (${config.leaseRetryPeriodS}) must be below KUBE_LEASE_RENEW_DEADLINE_S (${config.leaseRenewDeadlineS}): a leader renews several times per deadline`,
    )
  }
  if (config.autoscaler === 'local' && (config.peerDnsName || config.peers.length > 0)) {
    throw new ConfigError(
      'peers',
      "AUTOSCALER=local scales this gateway's own replica processes: other gateways' demand is not theirs to serve (drop PEERS/PEER_DNS_NAME)",
    )
  }
  if (config.peerDnsName && config.peers.length > 0) {
    throw new ConfigError('peers', 'PEERS and PEER_DNS_NAME are two ways to name the other gateways: give one')
  }
  if (config.autoscaler === 'kubernetes' && config.standby !== 'off' && !config.kubePodSelector) {
    throw new ConfigError(
      'kubePodSelector',
      'STANDBY with AUTOSCALER=kubernetes needs KUBE_POD_SELECTOR: standbys are pods labelled and resized in place (k8s/overlays/custom)',
    )
  }
  if (config.minReplicas > config.maxReplicas) {
    throw new ConfigError(
      'minReplicas',
      `MIN_REPLICAS (${config.minReplicas}) is above MAX_REPLICAS (${config.maxReplicas})`,
    )
  }
  return config
}
