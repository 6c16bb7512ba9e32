import type { PodRecord } from './local-cluster.ts'

/** The phases of a pod's start-up, in order, as the report lists them. */
export const STARTUP_PHASES = [
  'provisioning (stand-in)',
  'process start',
  'module imports',
  'model load and conversion',
  'ONNX Runtime sessions',
  'HTTP server',
  'warm-up inference',
  'ready → first passing probe',
  "pod's own part",
  'asked → serving',
] as const
export type StartupPhase = (typeof STARTUP_PHASES)[number]

/**
 * Where one pod's start-up went, ms: the cluster's own clock for what it sees (provisioning, spawn to ready, the
 * first passing probe), the replica's account for what happens inside it. "pod's own part" is everything but the
 * provisioning stand-in: process spawned → first passing probe (→ ready, if no probe passed, or if it was a standby when
 * it became ready). Undefined for a pod
 * that never became ready or did not say how it started.
 */
export function startupPhases(pod: PodRecord): Partial<Record<StartupPhase, number>> | undefined {
  const { startup, startedAt, readyAt } = pod
  if (!startup || startedAt === undefined || readyAt === undefined) return undefined
  // A standby's first probe waits for its promotion (another delay, reported apart): its start-up ends at ready.
  const probed = pod.readyAsStandby ? undefined : pod.readyAnsweredAt
  const servingAt = probed ?? readyAt
  return {
    'provisioning (stand-in)': startedAt - pod.createdAt,
    'process start': (pod.processSpawnMs ?? 0) + (startup.process_ms ?? 0),
    ...(startup.imports_ms !== undefined && { 'module imports': startup.imports_ms }),
    'model load and conversion': startup.model_load_ms,
    'ONNX Runtime sessions': startup.engines_ms,
    'HTTP server': startup.server_ms,
    'warm-up inference': startup.warmup_ms,
    ...(probed !== undefined && { 'ready → first passing probe': probed - readyAt }),
    "pod's own part": servingAt - startedAt,
    'asked → serving': servingAt - pod.createdAt,
  }
}
