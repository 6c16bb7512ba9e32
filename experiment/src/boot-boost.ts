/**
 * A start-up CPU boost, as Kubernetes' in-place resize allows and Google's kube-startup-cpu-boost does: a pod
 * boots with a higher CPU limit than it runs with, and is lowered to its own once it is ready. Starting a replica
 * is mostly one thread at a time (module loading, then each model's session on its own thread), so a boost of a
 * core or two turns seconds at a fraction of a core into the CPU time itself.
 */
export interface BootBoost {
  enabled: boolean
  /** The limit while the pod boots, cores. */
  bootCores: number
}

/** The CPU limit a pod boots with: the boost's when it is on (never below the pod's own limit), else its own. */
export function bootLimitCores(cores: number, boost: BootBoost): number {
  return boost.enabled ? Math.max(cores, boost.bootCores) : cores
}

/** Whether a pod booting at `bootCores` must be resized once ready (only when it booted above its limit). */
export function lowersOnReady(cores: number, bootCores: number): boolean {
  return bootCores > cores
}
