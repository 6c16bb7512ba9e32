import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import { modelVersionKey } from '../../../common/http/model-selection.ts'
import { CanaryMonitor } from '../canary/canary-monitor.ts'
import { VersionOutcomes } from '../measurements/version-outcomes.ts'
import { VersionServiceTimes } from '../measurements/version-service-times.ts'
import type { ReplicaPool } from '../pool/replica-pool.ts'
import type { LiveVersion } from './live-version.ts'
import { ModelRouter } from './model-router.ts'
import { RegistryWatcher } from './registry-watcher.ts'
import { rollbackRule, type VersionConfig } from './settings.ts'
import { registerVersionMetrics } from './version-metrics.ts'

/** How one request to a model version ended: per-version metrics and the canary's sliding window. */
export interface VersionOutcomeReport {
  model: string
  version: string
  status: number
  /** The version failed it (5xx from the replica, no answer, every replica failed): not the client's doing. */
  failed: boolean
  /** For an answer: the replica's time, network included. */
  upstreamMs?: number
}

export interface ModelLifecycle {
  registry: RegistryWatcher
  router: ModelRouter
  outcomes: VersionOutcomes
  /** Each version's measured service time: what brownout predicts a fallback's answer from. */
  serviceTimes: VersionServiceTimes
  canary: CanaryMonitor
  onVersionOutcome: (report: VersionOutcomeReport) => void
  liveVersions: () => LiveVersion[]
  close(): Promise<void>
}

/**
 * Versions and canaries at the gateway: the registry state (watched), the router that picks a version per request,
 * the per-version sliding windows and metrics, and the monitor that rolls a bad canary back.
 */
export async function startModelLifecycle(
  config: VersionConfig,
  pool: ReplicaPool,
  metricsRegistry: Registry,
  logger: FastifyBaseLogger,
  random: () => number = Math.random,
): Promise<ModelLifecycle> {
  const registry = new RegistryWatcher({ file: config.modelRegistryFile, pollMs: config.registryPollMs }, logger)
  await registry.start()
  const router = new ModelRouter(pool, registry, random)
  const outcomes = new VersionOutcomes(config.canaryWindowS * 1000)
  const serviceTimes = new VersionServiceTimes()
  const canary = new CanaryMonitor(outcomes, registry, rollbackRule(config), logger)
  const metrics = registerVersionMetrics(metricsRegistry)
  // Label objects and keys per version (and status), made once: this runs for every answered request.
  const versions = new Map<string, VersionLabels>()
  const labelsOf = (model: string, version: string): VersionLabels => {
    const id = `${model}\n${version}`
    let labels = versions.get(id)
    if (!labels) {
      labels = { labels: { model, version }, key: modelVersionKey(model, version), byStatus: new Map() }
      versions.set(id, labels)
    }
    return labels
  }
  const onVersionOutcome = (report: VersionOutcomeReport) => {
    const { labels, key, byStatus } = labelsOf(report.model, report.version)
    let withStatus = byStatus.get(report.status)
    if (!withStatus) {
      withStatus = { ...labels, status: String(report.status) }
      byStatus.set(report.status, withStatus)
    }
    metrics.modelRequests.inc(withStatus)
    if (report.failed) metrics.modelErrors.inc(labels)
    const ok = report.status === 200
    if (ok && report.upstreamMs !== undefined) metrics.modelSeconds.observe(labels, report.upstreamMs / 1000)
    // Client errors (a bad image) say nothing about the version: only answers and the version's failures count.
    if (!ok && !report.failed) return
    const now = Date.now()
    if (ok && report.upstreamMs !== undefined) serviceTimes.record(key, report.upstreamMs, now)
    outcomes.record({
      key,
      at: now,
      ok,
      ...(ok && { latencyMs: report.upstreamMs }),
    })
    canary.check(report.model, now)
  }
  const liveVersions = (): LiveVersion[] => {
    const now = Date.now()
    const withSamples = new Set(outcomes.keys(now))
    return router.views().flatMap((model) =>
      model.versions
        .filter((v) => v.weight > 0 || withSamples.has(modelVersionKey(model.name, v.version)))
        .map((v) => {
          const stats = outcomes.stats(modelVersionKey(model.name, v.version), now)
          const orNull = (value: number) => (Number.isNaN(value) ? null : Math.round(value * 10) / 10)
          return {
            model: model.name,
            version: v.version,
            stage: v.stage,
            weight: v.weight,
            requests: stats.requests,
            errors: stats.errors,
            p50_ms: orNull(stats.p50Ms),
            p95_ms: orNull(stats.p95Ms),
          }
        }),
    )
  }
  return {
    registry,
    router,
    outcomes,
    serviceTimes,
    canary,
    onVersionOutcome,
    liveVersions,
    close: () => registry.close(),
  }
}

interface VersionLabels {
  labels: { model: string; version: string }
  /** `NAME@VERSION`. */
  key: string
  byStatus: Map<number, { model: string; version: string; status: string }>
}
