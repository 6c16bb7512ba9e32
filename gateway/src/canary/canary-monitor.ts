import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { modelVersionKey } from '../../../common/http/model-selection.ts'
import { activeCanary, productionVersion, type RegistryState } from '../../../common/model-registry/state.ts'
import type { VersionOutcomes } from '../measurements/version-outcomes.ts'
import { type CanaryVerdict, canaryVerdict, type RollbackRule, type WindowStats } from './rollback-rule.ts'

/**
 * What the monitor needs of the registry (versions/registry-watcher.ts): the state in force, and stopping a canary.
 * Declared here so that versions/, which starts the monitor, is the only side that imports the other.
 */
export interface CanaryRegistry {
  readonly state: RegistryState
  /** False when that canary was not in force (stopped already). */
  stopCanary(model: string, version: string, reason: string): Promise<boolean>
}

export interface CanaryRollback {
  model: string
  candidate: string
  production: string
  verdict: Extract<CanaryVerdict, { verdict: 'rollback' }>
  /** The windows the verdict was drawn from. */
  candidateStats: WindowStats
  productionStats: WindowStats
}

/**
 * Watches every canary in force: after each outcome of a model with a canary, compares candidate and production over
 * the sliding window (from the canary's start) with the rollback rule, and rolls the canary back by itself when the
 * rule says so: the registry stops it here at once and writes the file, and the log says why.
 */
export class CanaryMonitor extends EventEmitter<{ rollback: [CanaryRollback] }> {
  readonly #outcomes: VersionOutcomes
  readonly #registry: CanaryRegistry
  readonly #rule: RollbackRule
  readonly #log: FastifyBaseLogger
  /** Canaries being rolled back (the write is asynchronous; outcomes keep arriving meanwhile). */
  readonly #stopping = new Set<string>()

  constructor(outcomes: VersionOutcomes, registry: CanaryRegistry, rule: RollbackRule, log: FastifyBaseLogger) {
    super()
    this.#outcomes = outcomes
    this.#registry = registry
    this.#rule = rule
    this.#log = log
  }

  /** Called after an outcome of `model` was recorded. */
  check(model: string, now = Date.now()): void {
    const state = this.#registry.state.models[model]
    // Runs after every answer: without a canary (the usual case) it stops here, before the production lookup.
    const canary = activeCanary(state)
    if (!canary) return
    const production = productionVersion(state)
    if (!production) return
    const key = modelVersionKey(model, canary.version)
    if (this.#stopping.has(key)) return
    const since = canary.since ? Date.parse(canary.since) : 0
    const candidateStats = this.#outcomes.stats(key, now, since)
    const productionStats = this.#outcomes.stats(modelVersionKey(model, production), now, since)
    const verdict = canaryVerdict(candidateStats, productionStats, this.#rule)
    if (verdict.verdict !== 'rollback') return
    this.#stopping.add(key)
    this.#log.warn(
      { model, candidate: canary.version, production, rule: verdict.rule, candidateStats, productionStats },
      `canary ${model} ${canary.version} rolled back automatically: ${verdict.reason}`,
    )
    const rollback: CanaryRollback = {
      model,
      candidate: canary.version,
      production,
      verdict,
      candidateStats,
      productionStats,
    }
    // Announced once the registry has it (in force here at once, and written to the file when it can be).
    void this.#registry
      .stopCanary(model, canary.version, `automatic: ${verdict.reason}`)
      .then((stopped) => stopped && this.emit('rollback', rollback))
      .finally(() => this.#stopping.delete(key))
  }
}
