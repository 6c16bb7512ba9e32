import type { Actuator } from '../autoscaler.ts'
import { type KubernetesConnection, kubernetesClient } from '../kubernetes-api.ts'

export interface KubernetesTarget extends KubernetesConnection {
  namespace: string
  deployment: string
}

export interface KubernetesActuator extends Actuator {
  /** The Deployment's spec.replicas now (what a gateway that just started must not scale below in its first window). */
  current(): Promise<number>
}

/**
 * Sets the replica Deployment's size through its `scale` subresource (a merge patch of spec.replicas), with the
 * pod's service-account token; the RBAC in k8s/overlays/custom allows exactly that. With several gateways only the
 * Lease holder calls `apply` (see lease-elector.ts); the others never write.
 */
export async function kubernetesActuator(target: KubernetesTarget): Promise<KubernetesActuator> {
  const call = await kubernetesClient(target)
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments/${encodeURIComponent(target.deployment)}/scale`
  const name = `${target.namespace}/${target.deployment}`
  return {
    name: 'kubernetes',
    async apply(replicas) {
      const response = await call('PATCH', path, { spec: { replicas } }, 'application/merge-patch+json')
      if (response.status >= 300)
        throw new Error(`scaling ${name} to ${replicas} failed: HTTP ${response.status} ${response.text.slice(0, 200)}`)
    },
    async current() {
      const response = await call('GET', path)
      const replicas = (response.body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas
      if (response.status >= 300 || typeof replicas !== 'number')
        throw new Error(`reading the scale of ${name} failed: HTTP ${response.status} ${response.text.slice(0, 200)}`)
      return replicas
    },
  }
}
