/**
 * How often the gateway probes a replica's /readyz. A ready replica: every `intervalMs` (a missed probe only counts
 * towards its failure threshold, so there is no hurry). A replica not ready yet — booting, most likely — every
 * `bootIntervalMs`, so it takes traffic within a fraction of a second of its warm-up instead of up to a full
 * interval later; for `bootWindowMs` after it was last seen ready (or first listed), after which a replica that
 * still is not ready (a broken one) falls back to the normal interval.
 */
export interface ProbeSchedule {
  intervalMs: number
  /** 0 turns fast probing of replicas that are not ready off. */
  bootIntervalMs: number
  bootWindowMs: number
}

export interface ProbeTarget {
  ready: boolean
  /** Since when it has not been ready, ms (undefined when ready). */
  notReadySinceMs: number | undefined
  /** When its last probe started, ms (undefined: never probed). */
  lastProbeMs: number | undefined
}

/** Whether the fast schedule probes this replica now (the normal schedule probes every replica each interval). */
export function dueForBootProbe(target: ProbeTarget, nowMs: number, schedule: ProbeSchedule): boolean {
  if (target.ready || schedule.bootIntervalMs <= 0 || schedule.bootIntervalMs >= schedule.intervalMs) return false
  if (target.notReadySinceMs !== undefined && nowMs - target.notReadySinceMs > schedule.bootWindowMs) return false
  return target.lastProbeMs === undefined || nowMs - target.lastProbeMs >= schedule.bootIntervalMs
}
