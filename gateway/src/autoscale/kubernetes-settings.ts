import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import type { KubernetesTarget } from './actuators/kubernetes.ts'
import type { KubernetesConnection } from './kubernetes-api.ts'
import type { AutoscaleConfig } from './settings.ts'

/** The Kubernetes API and the replica Deployment that AUTOSCALER=kubernetes scales. */
export const kubernetesSettings = {
  kubeApiUrl: setting<string | undefined>({
    env: 'KUBE_API_URL',
    flag: 'kube-api-url',
    description: 'kubernetes: API server (default from KUBERNETES_SERVICE_HOST/PORT in a pod)',
    parse: parse.httpUrl(),
    default: undefined,
  }),
  kubeNamespace: setting({
    env: 'KUBE_NAMESPACE',
    flag: 'kube-namespace',
    description: 'kubernetes: namespace of the replica Deployment',
    parse: parse.string(),
    default: 'switchyard',
  }),
  kubeDeployment: setting({
    env: 'KUBE_DEPLOYMENT',
    flag: 'kube-deployment',
    description: 'kubernetes: the replica Deployment',
    parse: parse.string(),
    default: 'replica',
  }),
  kubePodSelector: setting<string | undefined>({
    env: 'KUBE_POD_SELECTOR',
    flag: 'kube-pod-selector',
    description:
      "kubernetes: label selector of the replica Deployment's pods; set, the actuator labels each serving or standby (switchyard.dev/role, which the replica Service selects) and resizes standbys in place (needed for STANDBY)",
    parse: parse.string(),
    default: undefined,
  }),
  kubeContainer: setting({
    env: 'KUBE_CONTAINER',
    flag: 'kube-container',
    description: "kubernetes: the replica pods' container that standbys resize",
    parse: parse.string(),
    default: 'replica',
  }),
  kubeTokenFile: setting({
    env: 'KUBE_TOKEN_FILE',
    flag: 'kube-token-file',
    description: 'kubernetes: service-account token',
    parse: parse.string(),
    default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  }),
  kubeCaFile: setting<string | undefined>({
    env: 'KUBE_CA_FILE',
    flag: 'kube-ca-file',
    description: 'kubernetes: API server CA (default: the service account ca.crt with https)',
    parse: parse.string(),
    default: undefined,
  }),
}

export type KubernetesConfig = ConfigOf<typeof kubernetesSettings>

/** In a pod, the API server and its CA default to what Kubernetes gives every pod (KUBERNETES_SERVICE_HOST/PORT). */
export function inClusterDefaults(
  config: Pick<KubernetesConfig, 'kubeApiUrl' | 'kubeCaFile'>,
  env: Record<string, string | undefined>,
): Pick<KubernetesConfig, 'kubeApiUrl' | 'kubeCaFile'> {
  const { KUBERNETES_SERVICE_HOST: kubeHost, KUBERNETES_SERVICE_PORT: kubePort } = env
  const inCluster = kubeHost
    ? `https://${kubeHost.includes(':') ? `[${kubeHost}]` : kubeHost}:${kubePort ?? 443}`
    : undefined
  const kubeApiUrl = config.kubeApiUrl ?? inCluster
  return {
    kubeApiUrl,
    kubeCaFile:
      config.kubeCaFile ??
      (kubeApiUrl?.startsWith('https:') ? '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' : undefined),
  }
}

/** Only with AUTOSCALER=kubernetes, which requires KUBE_API_URL (or a pod's defaults). */
export function kubernetesConnection(config: KubernetesConfig): KubernetesConnection {
  return { apiUrl: config.kubeApiUrl!, tokenFile: config.kubeTokenFile, caFile: config.kubeCaFile }
}

export function kubernetesTarget(config: KubernetesConfig & Pick<AutoscaleConfig, 'standbyCpu'>): KubernetesTarget {
  return {
    ...kubernetesConnection(config),
    namespace: config.kubeNamespace,
    deployment: config.kubeDeployment,
    roles: config.kubePodSelector
      ? { selector: config.kubePodSelector, container: config.kubeContainer, standbyCpu: config.standbyCpu }
      : undefined,
  }
}
