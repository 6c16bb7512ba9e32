import { compareVersions } from '../http/model-selection.ts'
import {
  activeCanary,
  fallbackKey,
  type GateVerdict,
  productionVersion,
  type RegistryState,
  type Stage,
  type VersionState,
} from './state.ts'
import type { TrafficSplit } from './traffic-split.ts'

/** How many replicas advertise a version, and how many of them are routable now. */
export interface Served {
  replicas: number
  ready: number
}

export type VersionView = {
  version: string
  stage: Stage
  /** Share of `?model=NAME` requests it gets. */
  weight: number
  replicas: number
  ready: number
  /** The registry names no production version: this one is production because it is the newest served. */
  implicit?: boolean
  gate?: GateVerdict
  rolled_back?: VersionState['rolled_back']
}

export interface ModelView {
  name: string
  /** What `?model=NAME` runs (undefined: nothing can). */
  split: TrafficSplit | undefined
  /** Brownout: the `NAME@VERSION` that answers when the model's own version would miss a deadline. */
  fallback?: string
  versions: VersionView[]
}

/**
 * What `?model=NAME` runs: the registry's production version (else the newest served version it does not list),
 * and its canary if one is in force. Undefined when there is no production version.
 */
export function trafficSplit(
  state: RegistryState,
  name: string,
  servedVersions: ReadonlyMap<string, Served>,
): { split: TrafficSplit | undefined; implicit: boolean } {
  const model = state.models[name]
  const listed = model?.versions ?? {}
  let production = productionVersion(model)
  let implicit = false
  if (!production) {
    production = [...servedVersions.keys()]
      .filter((v) => !listed[v])
      .sort(compareVersions)
      .at(-1)
    implicit = production !== undefined
  }
  const canary = activeCanary(model)
  if (!production) return { split: undefined, implicit }
  return {
    split: { production, ...(canary && { canary: { version: canary.version, weight: canary.weight } }) },
    implicit,
  }
}

/**
 * Every model the registry or a replica knows, with each version's stage and weight: a pure function of the registry
 * state and what replicas serve. A version the registry does not list is staging, except that a model whose
 * production the registry does not name runs its newest served version not listed as staging or archived (so a
 * models folder nobody registered works as before: one version, production).
 */
export function modelViews(
  state: RegistryState,
  served: ReadonlyMap<string, ReadonlyMap<string, Served>>,
): ModelView[] {
  const names = [...new Set([...served.keys(), ...Object.keys(state.models)])]
  return names.map((name) => {
    const model = state.models[name]
    const byVersion = served.get(name) ?? new Map<string, Served>()
    const listed = model?.versions ?? {}
    const { split, implicit } = trafficSplit(state, name, byVersion)
    const production = split?.production
    const canary = split?.canary
    const versions = [...new Set([...byVersion.keys(), ...Object.keys(listed)])].sort(compareVersions)
    const fallback = fallbackKey(model)
    return {
      name,
      split,
      ...(fallback && { fallback }),
      versions: versions.map((version): VersionView => {
        const entry = listed[version]
        const isProduction = version === production
        const weight = isProduction ? 1 - (canary?.weight ?? 0) : canary?.version === version ? canary.weight : 0
        const { replicas = 0, ready = 0 } = byVersion.get(version) ?? {}
        return {
          version,
          stage: isProduction ? 'production' : (entry?.stage ?? 'staging'),
          weight,
          replicas,
          ready,
          ...(isProduction && implicit && { implicit: true }),
          ...(entry?.gate && { gate: entry.gate }),
          ...(entry?.rolled_back && { rolled_back: entry.rolled_back }),
        }
      }),
    }
  })
}
