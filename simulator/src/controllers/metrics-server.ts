import { isDue, type PodView } from './cluster-state.ts'

export interface PodCpuMetric {
  cores: number
  /** End of the window the rate was measured over, ms. */
  timestamp: number
  windowMs: number
}

/**
 * metrics-server as the HPA sees it: every `resolutionMs` (15 s) it reads each running pod's cumulative CPU and
 * publishes the rate between its last two reads. A pod therefore has no metric until its second scrape, and the
 * metric the HPA uses is up to one resolution old.
 */
export class MetricsServer {
  readonly #resolutionMs: number
  readonly #phaseMs: number
  readonly #lastRead = new Map<string, { at: number; cpuSeconds: number }>()
  readonly #metrics = new Map<string, PodCpuMetric>()

  constructor(resolutionMs: number, phaseMs: number) {
    this.#resolutionMs = resolutionMs
    this.#phaseMs = phaseMs
  }

  /** Called every second with the pods as they are; scrapes when due. */
  observe(now: number, pods: readonly PodView[]): void {
    if (!isDue(now, this.#resolutionMs, this.#phaseMs)) return
    const alive = new Set<string>()
    for (const pod of pods) {
      if (pod.startedAt === undefined) continue
      alive.add(pod.name)
      const last = this.#lastRead.get(pod.name)
      if (last && now > last.at) {
        const windowMs = now - last.at
        this.#metrics.set(pod.name, {
          cores: Math.max(0, (pod.cpuSeconds - last.cpuSeconds) / (windowMs / 1000)),
          timestamp: now,
          windowMs,
        })
      }
      this.#lastRead.set(pod.name, { at: now, cpuSeconds: pod.cpuSeconds })
    }
    for (const name of this.#lastRead.keys()) {
      if (!alive.has(name)) {
        this.#lastRead.delete(name)
        this.#metrics.delete(name)
      }
    }
  }

  metric(pod: string): PodCpuMetric | undefined {
    return this.#metrics.get(pod)
  }
}
