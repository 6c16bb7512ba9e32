import { readFile } from 'node:fs/promises'
import { Agent, request } from 'undici'
import type { Actuator } from '../autoscaler.ts'

export interface KubernetesTarget {
  /** API server base URL, e.g. https://10.96.0.1:443 (from KUBERNETES_SERVICE_HOST/PORT in a pod). */
  apiUrl: string
  namespace: string
  deployment: string
  /** Service-account token file; re-read on every call, as Kubernetes rotates it. */
  tokenFile: string
  /** CA bundle of the API server (the service account's ca.crt); none for a plain-HTTP test server. */
  caFile: string | undefined
}

/**
 * Sets the replica Deployment's size through its `scale` subresource (a merge patch of spec.replicas), with the
 * pod's service-account token; the RBAC in k8s/overlays/custom allows exactly that.
 */
export async function kubernetesActuator(target: KubernetesTarget): Promise<Actuator> {
  const ca = target.caFile ? await readFile(target.caFile, 'utf8') : undefined
  const dispatcher = new Agent({ connect: ca ? { ca } : {} })
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments/${encodeURIComponent(target.deployment)}/scale`
  return {
    name: 'kubernetes',
    async apply(replicas) {
      const token = (await readFile(target.tokenFile, 'utf8')).trim()
      const response = await request(`${target.apiUrl}${path}`, {
        method: 'PATCH',
        dispatcher,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ spec: { replicas } }),
        signal: AbortSignal.timeout(5000),
      })
      const text = await response.body.text()
      if (response.statusCode >= 300) {
        throw new Error(
          `scaling ${target.namespace}/${target.deployment} to ${replicas} failed: HTTP ${response.statusCode} ${text.slice(0, 200)}`,
        )
      }
    },
  }
}
