import { parseModelSelector } from '../../../common/http/model-selection.ts'
import { fallbackKey, type RegistryState } from '../../../common/model-registry/state.ts'
import type { LoadNow, RequestBudget } from '../admission/admission.ts'
import { brownoutChoice } from '../admission/brownout.ts'
import type { VersionServiceTimes } from '../measurements/version-service-times.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'

/** A request answered by its model's fallback. */
export interface Degraded {
  /** The model it asked for (a bare NAME, or the replicas' default model): the metric's `model` label. */
  model: string
  /** What it would have run, `NAME@VERSION` (or NAME for the replicas' default). */
  from: string
  /** The fallback that runs instead, `NAME@VERSION`. */
  to: string
}

export interface BrownoutDeps {
  registry: { readonly state: RegistryState }
  pool: ReplicaPool
  serviceTimes: VersionServiceTimes
  /** BROWNOUT=on: a fallback set in the registry is used (off: ignored, refused as before). */
  enabled: boolean
}

const NOTHING_TRIED: ReadonlySet<string> = new Set()

/**
 * Brownout at the gateway's edge: gathers what the pure `brownoutChoice` needs (the registry's fallback for the
 * model, the replicas serving it, its measured service time) and records a probe when one is sent. A request naming
 * `NAME@VERSION` asked for exactly that version and is never degraded; one naming NAME, or no model (the replicas'
 * default), may be.
 */
export class Brownout {
  readonly #deps: BrownoutDeps

  constructor(deps: BrownoutDeps) {
    this.#deps = deps
  }

  /**
   * Called when admission expects the primary to miss the budget: the fallback to run instead, or undefined
   * (refused as before). `selector` is what the client asked for; `model` what it resolved to.
   */
  choose(
    selector: string | undefined,
    model: string | undefined,
    budget: RequestBudget,
    load: Pick<LoadNow, 'queued' | 'replicas' | 'measuredPace'>,
  ): Degraded | undefined {
    if (!this.#deps.enabled || selector?.includes('@')) return undefined
    const name = selector ?? (model ? parseModelSelector(model).name : this.#defaultModel())
    if (name === undefined) return undefined
    const to = fallbackKey(this.#deps.registry.state.models[name])
    if (!to || to === model) return undefined
    const { pool, serviceTimes } = this.#deps
    const now = Date.now()
    const choice = brownoutChoice(budget, load, {
      replicas: pool.candidates(NOTHING_TRIED, to),
      serviceMs: serviceTimes.serviceMs(to),
      stale: serviceTimes.stale(to, now),
      probing: serviceTimes.probing(to, now),
    })
    if (choice.kind !== 'fallback') return undefined
    if (choice.probe) serviceTimes.startProbe(to, now + budget.timeoutMs)
    return { model: name, from: model ?? name, to }
  }

  /** The model a request naming none runs: the default the routable replicas list first. */
  #defaultModel(): string | undefined {
    return this.#deps.pool.all.find((replica) => replica.isRoutable() && replica.models.length > 0)?.models[0]
  }
}
