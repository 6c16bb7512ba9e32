import { performance as nodePerformance } from 'node:perf_hooks'

/**
 * Where a replica's start-up time goes, phase by phase, in ms. The process measures its own phases (the `startup`
 * log line, /healthz and the IPC `ready` message carry them); what happens outside it (a pod's provisioning, the
 * prober noticing) is added by whoever watches from outside (the experiment's local cluster).
 */
export interface StartupBreakdown {
  /** Node's own bootstrap, before any of our code (performance.nodeTiming.bootstrapComplete). */
  process_ms?: number
  /** Loading the entry module and everything it imports (TypeScript stripping included). */
  imports_ms?: number
  /** Finding the models' ONNX bytes: read from disk, generated or converted. */
  model_load_ms: number
  /** Inference threads started and onnxruntime-node loaded in them (the longest of the models, they run at once). */
  runtime_ms: number
  /** ONNX Runtime InferenceSession creation (summed over the models: each runs on its own thread). */
  session_ms: number
  /**
   * From the models loaded to every session made, wall clock (the default model's thread starts before the imports
   * and its session while the other models load, so this is what is left of them on the critical path).
   */
  engines_ms: number
  /** The HTTP server built and listening (overlaps the engines). */
  server_ms: number
  /** The warm-up inference of every model, until ready (it runs on the models' threads beside the server's build). */
  warmup_ms: number
  /** Process start to ready (readiness answered 200 from here on). */
  total_ms: number
  /**
   * CPU time to ready, ms: all threads, and the main thread alone. Under a CPU quota q, a start-up takes at least
   * cpu_ms / q; with enough cores, at least main_thread_cpu_ms (module loading, model load, server: one thread).
   */
  cpu_ms?: number
  main_thread_cpu_ms?: number
  /** How each model's session was made: from the optimised-model cache, or optimised now (and saved if it could). */
  models: { name: string; version: string; session_ms: number; optimized_cache: 'hit' | 'miss' | 'off' }[]
}

/** How long Node took to start before running our entry module, and what the entry module's imports took. */
export function processPhases(entryStartedAt: number): Pick<StartupBreakdown, 'process_ms' | 'imports_ms'> {
  const boot = nodePerformance.nodeTiming.bootstrapComplete
  return { process_ms: round(boot), imports_ms: round(entryStartedAt - boot) }
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

/** CPU time so far, ms: the whole process, and the calling thread. */
export function cpuSoFar(): { cpu_ms: number; main_thread_cpu_ms: number } {
  const all = process.cpuUsage()
  const thread = process.threadCpuUsage()
  return {
    cpu_ms: round((all.user + all.system) / 1000),
    main_thread_cpu_ms: round((thread.user + thread.system) / 1000),
  }
}
