import { cpuMillicores } from '../cpu-quantity.ts'
import type { KubernetesRequest } from '../kubernetes-api.ts'
import { type PodRole, planRoles, type RolePod } from '../standby-plan.ts'

/** The pod label that says whether a replica serves (the headless Service selects `serving`) or waits as a standby. */
export const ROLE_LABEL = 'switchyard.dev/role'

export interface PodRoleTarget {
  namespace: string
  /** Label selector of the replica pods (the Deployment's). */
  selector: string
  /** The replica container's name: the one resized. */
  container: string
  /** A standby's CPU request and limit (a quantity, e.g. "50m"). */
  standbyCpu: string
}

interface PodItem {
  metadata?: { name?: string; creationTimestamp?: string; deletionTimestamp?: string; labels?: Record<string, string> }
  spec?: { containers?: { name?: string; resources?: { requests?: { cpu?: unknown }; limits?: { cpu?: unknown } } }[] }
  status?: {
    phase?: string
    conditions?: { type?: string; status?: string }[]
    containerStatuses?: { started?: boolean }[]
  }
}

/** A replica pod as the plan sees it, with the CPU its container is set to. */
export interface ObservedPod extends RolePod {
  cpuMillicores: number | undefined
}

/** Pure: the pods of a list answer, terminating ones left out (the ReplicaSet has let them go). */
export function observePods(list: unknown, container: string): ObservedPod[] {
  const items = ((list as { items?: unknown } | undefined)?.items ?? []) as PodItem[]
  if (!Array.isArray(items)) return []
  return items.flatMap((item) => {
    const name = item.metadata?.name
    if (!name || item.metadata?.deletionTimestamp) return []
    const ready = item.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
    const started = item.status?.phase === 'Running' || (item.status?.containerStatuses ?? []).some((c) => c.started)
    const spec = item.spec?.containers?.find((c) => c.name === container) ?? item.spec?.containers?.[0]
    // Pods without the label (made before the overlay set it) serve, as they always did.
    const role: PodRole = item.metadata?.labels?.[ROLE_LABEL] === 'standby' ? 'standby' : 'serving'
    return [
      {
        name,
        phase: ready ? 'ready' : started ? 'booting' : 'pending',
        role,
        createdAt: Date.parse(item.metadata?.creationTimestamp ?? '') || 0,
        cpuMillicores: cpuMillicores(spec?.resources?.limits?.cpu ?? spec?.resources?.requests?.cpu),
      },
    ]
  })
}

/** One change to one pod: its role label (a merge patch) or its container's CPU (the `resize` subresource). */
export type PodChange = { pod: string; kind: 'label'; role: PodRole } | { pod: string; kind: 'resize'; cpu: string }

/**
 * Pure: the changes that bring the pods' roles to `serving` + `standby` (the ReplicaSet already has their total: it
 * made or deleted pods; this only says which serve). A ready standby promoted is resized up before it is labelled
 * serving (the Service lists it once it can serve at full CPU); a serving pod demoted is labelled standby first
 * (out of the Service) and resized down on a later pass, once traffic has left it. A ready standby still at full
 * CPU (every pod boots from the template at full CPU: a boost for free) is resized down; a serving pod below full
 * CPU is resized up (a repair).
 */
export function planPodChanges(
  pods: readonly ObservedPod[],
  target: { serving: number; standby: number },
  cpu: { serving: string; standby: string },
): PodChange[] {
  const servingMilli = cpuMillicores(cpu.serving)
  const standbyMilli = cpuMillicores(cpu.standby)
  const plan = planRoles(pods, target)
  const promote = new Set(plan.promote)
  const demote = new Set(plan.demote)
  const changes: PodChange[] = []
  for (const pod of pods) {
    const role = promote.has(pod.name) ? 'serving' : demote.has(pod.name) ? 'standby' : pod.role
    if (promote.has(pod.name)) {
      if (pod.phase === 'ready' && pod.cpuMillicores !== servingMilli)
        changes.push({ pod: pod.name, kind: 'resize', cpu: cpu.serving })
      changes.push({ pod: pod.name, kind: 'label', role })
    } else if (demote.has(pod.name)) {
      changes.push({ pod: pod.name, kind: 'label', role })
    } else if (role === 'standby' && pod.phase === 'ready' && pod.cpuMillicores !== standbyMilli) {
      changes.push({ pod: pod.name, kind: 'resize', cpu: cpu.standby })
    } else if (role === 'serving' && pod.phase !== 'pending' && pod.cpuMillicores !== servingMilli) {
      changes.push({ pod: pod.name, kind: 'resize', cpu: cpu.serving })
    }
  }
  return changes
}

/** The template's CPU limit of the replica container (what a serving pod has): read from the Deployment. */
export function templateCpu(deployment: unknown, container: string): string | undefined {
  type Containers = NonNullable<PodItem['spec']>['containers']
  const containers = (deployment as { spec?: { template?: { spec?: { containers?: Containers } } } } | undefined)?.spec
    ?.template?.spec?.containers
  const spec = containers?.find((c) => c.name === container) ?? containers?.[0]
  const cpu = spec?.resources?.limits?.cpu ?? spec?.resources?.requests?.cpu
  return typeof cpu === 'string' || typeof cpu === 'number' ? String(cpu) : undefined
}

/** Applies the changes in order, each a PATCH; the first failure stops the pass (the next tick tries again). */
export async function applyPodChanges(
  call: KubernetesRequest,
  target: PodRoleTarget,
  changes: readonly PodChange[],
): Promise<void> {
  const base = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods`
  for (const change of changes) {
    const path = `${base}/${encodeURIComponent(change.pod)}${change.kind === 'resize' ? '/resize' : ''}`
    const response =
      change.kind === 'resize'
        ? await call(
            'PATCH',
            path,
            {
              spec: {
                containers: [
                  { name: target.container, resources: { requests: { cpu: change.cpu }, limits: { cpu: change.cpu } } },
                ],
              },
            },
            'application/strategic-merge-patch+json',
          )
        : await call(
            'PATCH',
            path,
            { metadata: { labels: { [ROLE_LABEL]: change.role } } },
            'application/merge-patch+json',
          )
    if (response.status >= 300)
      throw new Error(
        `${change.kind === 'resize' ? `resizing pod ${change.pod} to ${change.cpu} CPU` : `labelling pod ${change.pod} ${change.role}`} failed: HTTP ${response.status} ${response.text.slice(0, 200)}`,
      )
  }
}
