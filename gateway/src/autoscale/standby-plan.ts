/**
 * Which pods serve and which wait as standbys, for a target of `serving` + `standby` pods: the one plan the local
 * cluster, the simulator and the Kubernetes actuator all follow. Scaling up promotes standbys first (a resize: about
 * a second) — ready ones before ones still booting — and only then orders new pods; new pods then refill the
 * standby pool behind them. Scaling down demotes serving pods to standbys while the pool is short (a resize down
 * keeps the warm process), and deletes only what neither role needs: pending pods first, then booting, then the
 * newest.
 */
export type PodRole = 'serving' | 'standby'

export interface RolePod {
  name: string
  phase: 'pending' | 'booting' | 'ready'
  role: PodRole
  createdAt: number
}

export interface RoleTarget {
  serving: number
  standby: number
}

export interface RolePlan {
  /** Standbys to resize up and route to (ready ones), or to boot into serving (not ready yet). */
  promote: string[]
  /** Serving pods to take out of routing and resize down. */
  demote: string[]
  /** New pods to order, each with the role it boots into. */
  create: { serving: number; standby: number }
  /** Pods to delete. */
  remove: string[]
}

const PHASE_RANK = { ready: 0, booting: 1, pending: 2 } as const

/** Ready before booting before pending; the oldest first among equals (the warmest). */
const readiest = (a: RolePod, b: RolePod) => PHASE_RANK[a.phase] - PHASE_RANK[b.phase] || a.createdAt - b.createdAt

/** Pure: the changes that bring `pods` to `target` (see the module's comment). */
export function planRoles(pods: readonly RolePod[], target: RoleTarget): RolePlan {
  const serving = pods.filter((p) => p.role === 'serving').sort(readiest)
  const standby = pods.filter((p) => p.role === 'standby').sort(readiest)
  const plan: RolePlan = { promote: [], demote: [], create: { serving: 0, standby: 0 }, remove: [] }
  const wantServing = Math.max(0, target.serving)
  const wantStandby = Math.max(0, target.standby)
  if (serving.length < wantServing) {
    const promoted = standby.splice(0, wantServing - serving.length)
    plan.promote = promoted.map((p) => p.name)
    plan.create.serving = wantServing - serving.length - promoted.length
  } else if (serving.length > wantServing) {
    // The least ready leave first; of the rest, the ones the standby pool lacks are demoted (the readiest: they are
    // warm), the others deleted.
    const surplus = serving.splice(wantServing).reverse()
    const room = Math.max(0, wantStandby - standby.length)
    const keep = surplus
      .filter((p) => p.phase !== 'pending')
      .sort(readiest)
      .slice(0, room)
    plan.demote = keep.map((p) => p.name)
    for (const p of surplus) if (!keep.includes(p)) plan.remove.push(p.name)
    standby.push(...keep)
    standby.sort(readiest)
  }
  if (standby.length < wantStandby) plan.create.standby = wantStandby - standby.length
  else if (standby.length > wantStandby) plan.remove.push(...standby.splice(wantStandby).map((p) => p.name))
  return plan
}
