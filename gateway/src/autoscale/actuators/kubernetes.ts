import type { Actuator } from '../autoscaler.ts'
import { type KubernetesConnection, kubernetesClient } from '../kubernetes-api.ts'
import { applyPodChanges, observePods, planPodChanges, templateCpu } from './pod-roles.ts'

export interface KubernetesTarget extends KubernetesConnection {
  namespace: string
  deployment: string
  /** Warm standbys: which pods are the replicas, the container to resize, a standby's CPU. Absent: no pod roles. */
  roles?: { selector: string; container: string; standbyCpu: string }
}

export interface KubernetesActuator extends Actuator {
  /** The Deployment's spec.replicas now (what a gateway that just started must not scale below in its first window). */
  current(): Promise<number>
}

/**
 * Sets the replica Deployment's size through its `scale` subresource (a merge patch of spec.replicas: the serving
 * replicas plus the standbys), with the pod's service-account token; the RBAC in k8s/overlays/custom allows exactly
 * that. With `roles`, `reconcile` then says which pods serve: it lists the replica pods, labels them serving or
 * standby (the headless Service selects serving ones) and resizes their CPU in place through the pods' `resize`
 * subresource (InPlacePodVerticalScaling) — see pod-roles.ts. With several gateways only the Lease holder calls
 * `apply` and `reconcile` (see lease-elector.ts); the others never write.
 */
export async function kubernetesActuator(target: KubernetesTarget): Promise<KubernetesActuator> {
  const call = await kubernetesClient(target)
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments/${encodeURIComponent(target.deployment)}/scale`
  const name = `${target.namespace}/${target.deployment}`
  const deploymentPath = `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments/${encodeURIComponent(target.deployment)}`
  const { roles } = target
  return {
    name: 'kubernetes',
    async apply(replicas, standbys = 0) {
      const total = replicas + (roles ? standbys : 0)
      const response = await call('PATCH', path, { spec: { replicas: total } }, 'application/merge-patch+json')
      if (response.status >= 300)
        throw new Error(`scaling ${name} to ${total} failed: HTTP ${response.status} ${response.text.slice(0, 200)}`)
    },
    ...(roles && {
      async reconcile(replicas: number, standbys: number) {
        const list = await call(
          'GET',
          `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods?labelSelector=${encodeURIComponent(roles.selector)}`,
        )
        if (list.status >= 300)
          throw new Error(`listing the pods of ${name} failed: HTTP ${list.status} ${list.text.slice(0, 200)}`)
        const pods = observePods(list.body, roles.container)
        if (pods.length === 0) return
        const deployment = await call('GET', deploymentPath)
        const serving = deployment.status < 300 ? templateCpu(deployment.body, roles.container) : undefined
        if (serving === undefined)
          throw new Error(`reading the CPU of ${name}'s pod template failed: HTTP ${deployment.status}`)
        const changes = planPodChanges(
          pods,
          { serving: replicas, standby: standbys },
          {
            serving,
            standby: roles.standbyCpu,
          },
        )
        await applyPodChanges(call, { namespace: target.namespace, ...roles }, changes)
      },
    }),
    async current() {
      const response = await call('GET', path)
      const replicas = (response.body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas
      if (response.status >= 300 || typeof replicas !== 'number')
        throw new Error(`reading the scale of ${name} failed: HTTP ${response.status} ${response.text.slice(0, 200)}`)
      return replicas
    },
  }
}
