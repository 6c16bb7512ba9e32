import { ServiceError } from '../../../common/errors.ts'
import { modelVersionKey, parseModelSelector, printableModelName } from '../../../common/http/model-selection.ts'
import { chooseVersion } from '../../../common/model-registry/traffic-split.ts'
import { type ModelView, modelViews, type Served, trafficSplit } from '../../../common/model-registry/views.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import type { RegistryWatcher } from './registry-watcher.ts'

/**
 * Turns what a client asked for into the exact version to run, `NAME@VERSION`, at admission: `NAME@VERSION` must be
 * served by some replica; `NAME` runs production or, with a canary in force, the candidate for its share of requests
 * (production when no ready replica serves the candidate). The pool then routes the job only to replicas serving it.
 */
export class ModelRouter {
  readonly #pool: ReplicaPool
  readonly #registry: RegistryWatcher
  readonly #random: () => number

  constructor(pool: ReplicaPool, registry: RegistryWatcher, random: () => number = Math.random) {
    this.#pool = pool
    this.#registry = registry
    this.#random = random
  }

  /** Undefined stays undefined (the replicas' default model); throws a 404 `unknown_model` for what nobody serves. */
  resolve(selector: string | undefined): string | undefined {
    if (selector === undefined) return undefined
    const { name, version } = parseModelSelector(selector)
    if (!this.#pool.models().includes(name)) {
      throw new ServiceError(
        'unknown_model',
        `no replica serves a model named '${printableModelName(name)}'; see GET /models`,
      )
    }
    const served: ReadonlyMap<string, Served> = this.#pool.servedVersions().get(name) ?? new Map()
    if (version !== undefined) {
      if (!served.has(version)) {
        throw new ServiceError(
          'unknown_model',
          `no replica serves version '${printableModelName(version)}' of ${name}; see GET /models`,
        )
      }
      return modelVersionKey(name, version)
    }
    const { split } = trafficSplit(this.#registry.state, name, served)
    if (!split) {
      throw new ServiceError(
        'unknown_model',
        `${name} has no production version (all are staging or archived); ask for NAME@VERSION or promote one`,
      )
    }
    const chosen = chooseVersion(split, this.#random())
    if (chosen !== split.production && (served.get(chosen)?.ready ?? 0) === 0) {
      return modelVersionKey(name, split.production)
    }
    return modelVersionKey(name, chosen)
  }

  /** Every model with its versions, stages and weights: `GET /models`. */
  views(): ModelView[] {
    return modelViews(this.#registry.state, this.#pool.servedVersions())
  }
}
