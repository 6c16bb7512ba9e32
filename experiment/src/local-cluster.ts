import { EventEmitter } from 'node:events'
import { renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ServiceProcess, spawnReplica } from '../../common/service-process.ts'
import { type TimerAt, timerAt } from '../../common/timer-at.ts'
import type { StartupBreakdown } from '../../replica/src/startup-timing.ts'
import type { PodPhase, PodView } from '../../simulator/src/controllers/cluster-state.ts'
import { type BootBoost, bootLimitCores, lowersOnReady } from './boot-boost.ts'
import { CpuLimitedGroup } from './cgroup.ts'

export interface LocalClusterOptions {
  /** Each pod's CPU limit (= its request), cores. */
  cores: number
  /** Stand-in for scheduling and image pull: how long a new pod waits before its process starts. */
  provisioningMs: number
  /** Ready pods' URLs, one per line: the gateway's --replicas-file (what Endpoints are to a Service). */
  replicasFile: string
  /** Flags for every replica process. */
  replicaArgs: readonly string[]
  /** Between leaving the replicas file and SIGTERM: time for the gateway to stop routing to it (a preStop hook). */
  drainDelayMs: number
  /** A start-up CPU boost: pods boot at its limit and are lowered to `cores` once ready. Default: none. */
  bootBoost?: BootBoost
}

/** A pod's life, ms since the cluster's epoch (see rebase). */
export interface PodRecord {
  name: string
  createdAt: number
  startedAt?: number
  readyAt?: number
  /** Deleted (scale-down), or failed to start. */
  deletedAt?: number
  goneAt?: number
  cpuSeconds: number
  throttledSeconds: number
  /** The CPU limit it booted with (above `cores` with a start-up boost), read back from its group. */
  bootCores?: number
  /** When its limit was lowered to `cores` after a boosted boot. */
  boostEndedAt?: number
  /** From its process spawned to its Node running (the replica's time origin), ms. */
  processSpawnMs?: number
  /** The replica's own account of its start-up (see replica/src/startup-timing.ts). */
  startup?: StartupBreakdown
  /** When its /readyz first answered 200: the gateway's first passing probe. */
  readyAnsweredAt?: number
}

interface Pod extends PodRecord {
  phase: PodPhase | 'terminating'
  timer?: TimerAt
  group?: CpuLimitedGroup
  process?: ServiceProcess
  url?: string
}

export interface LocalClusterEvents {
  log: [message: string]
}

/**
 * A Deployment on this machine: replica processes, each in a CPU-limited cgroup as the kubelet would run a pod,
 * created after a provisioning delay, listed for the gateway once ready, and drained before they stop. It owns the
 * pods: only scaleTo changes them. Times are ms since `epoch` (performance.now()), so a run can start at 0.
 */
export class LocalCluster extends EventEmitter<LocalClusterEvents> {
  readonly options: LocalClusterOptions
  readonly #pods: Pod[] = []
  #spec = 0
  #epoch = performance.now()
  #count = 0
  #closed = false
  /** Why the last pod that could not start did not, so a wait for readiness fails at once with the reason. */
  #startFailure: string | undefined

  constructor(options: LocalClusterOptions) {
    super()
    this.options = options
    this.#writeReplicasFile()
  }

  get specReplicas(): number {
    return this.#spec
  }

  /** Makes now time 0 for everything recorded from here on (pods already there get negative times). */
  rebase(): void {
    const shift = performance.now() - this.#epoch
    this.#epoch += shift
    for (const pod of this.#pods) {
      for (const key of [
        'createdAt',
        'startedAt',
        'readyAt',
        'deletedAt',
        'goneAt',
        'boostEndedAt',
        'readyAnsweredAt',
      ] as const)
        if (pod[key] !== undefined) pod[key] = pod[key]! - shift
    }
  }

  now(): number {
    return performance.now() - this.#epoch
  }

  scaleTo(replicas: number): void {
    if (this.#closed) return
    this.#spec = replicas
    const active = this.#pods.filter((p) => p.phase !== 'terminating')
    for (let i = active.length; i < replicas; i++) this.#create()
    const surplus = active.length - replicas
    if (surplus <= 0) return
    // As a ReplicaSet does: pending pods first, then unready ones, then the newest.
    const rank = (p: Pod) => (p.phase === 'pending' ? 0 : p.phase === 'booting' ? 1 : 2)
    const victims = active.sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt).slice(0, surplus)
    for (const pod of victims) this.#delete(pod)
  }

  /** Resolves once `n` pods are ready (for the start of a run). */
  async untilReady(n: number, timeoutMs = 120_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (this.#pods.filter((p) => p.phase === 'ready').length < n) {
      if (this.#startFailure) throw new Error(this.#startFailure)
      if (performance.now() > deadline) throw new Error(`${n} replicas not ready after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Pods as a controller sees them: existing and not terminating, with their CPU so far. */
  pods(): PodView[] {
    return this.#pods
      .filter((p) => p.phase !== 'terminating')
      .map((p) => ({
        name: p.name,
        phase: p.phase as PodPhase,
        startedAt: p.startedAt,
        readyAt: p.readyAt,
        cpuSeconds: this.#readCpu(p),
      }))
  }

  /** Every pod that existed, with its life and CPU. */
  records(): PodRecord[] {
    return this.#pods.map((pod) => {
      const { phase: _phase, timer: _timer, group: _group, process: _process, url: _url, ...record } = pod
      return { ...record, cpuSeconds: this.#readCpu(pod), throttledSeconds: pod.throttledSeconds }
    })
  }

  /** Each running pod's CPU limit now, read from its group (cores). */
  cpuLimits(): { name: string; cores: number }[] {
    return this.#pods.flatMap((p) => (p.group ? [{ name: p.name, cores: p.group.cores }] : []))
  }

  /** Counts by phase, for the timeline. */
  phases(): Record<PodPhase | 'terminating', number> {
    const counts = { pending: 0, booting: 0, ready: 0, terminating: 0 }
    for (const p of this.#pods) if (p.goneAt === undefined) counts[p.phase]++
    return counts
  }

  /** Stops every pod and waits for the processes to exit. */
  async close(): Promise<void> {
    this.#closed = true
    for (const pod of this.#pods) if (pod.phase !== 'terminating') this.#delete(pod, 0)
    await Promise.all(this.#pods.map((p) => p.process?.exited))
    this.#writeReplicasFile()
  }

  #create(): void {
    const pod: Pod = {
      name: `replica-${this.#count++}`,
      phase: 'pending',
      createdAt: this.now(),
      cpuSeconds: 0,
      throttledSeconds: 0,
    }
    this.#pods.push(pod)
    this.emit(
      'log',
      `${pod.name}: pending for ${this.options.provisioningMs} ms (stand-in for scheduling and image pull)`,
    )
    // By the cluster's own clock (a plain timer started one pod after 299.x ms of 300 in CI: see timerAt).
    pod.timer = timerAt(
      pod.createdAt + this.options.provisioningMs,
      () => this.now(),
      () => void this.#start(pod),
    )
  }

  async #start(pod: Pod): Promise<void> {
    pod.timer = undefined
    if (pod.phase !== 'pending') return
    pod.phase = 'booting'
    pod.startedAt = this.now()
    const boost = this.options.bootBoost ?? { enabled: false, bootCores: this.options.cores }
    let spawnedAt = 0
    try {
      pod.group = new CpuLimitedGroup(pod.name, bootLimitCores(this.options.cores, boost))
      pod.bootCores = pod.group.cores
      pod.process = await spawnReplica({
        args: ['--replica-id', pod.name, ...this.options.replicaArgs],
        onSpawn: (child) => {
          spawnedAt = performance.timeOrigin + performance.now()
          pod.group!.add(child.pid!)
          // The replica says when a prober first saw it ready (here: the gateway, once the replicas file lists it).
          child.on('message', (message: { type?: string }) => {
            if (message.type === 'ready_answered') pod.readyAnsweredAt ??= this.now()
          })
        },
        startTimeoutMs: 120_000,
        // Node's default folder, which the replica uses itself: a pod's image built with a warm cache.
        compileCache: join(tmpdir(), 'node-compile-cache'),
      })
    } catch (error) {
      this.#startFailure = `${pod.name}: failed to start: ${(error as Error).message}`
      this.emit('log', this.#startFailure)
      pod.deletedAt ??= this.now()
      this.#gone(pod)
      return
    }
    void pod.process.exited.then(() => this.#gone(pod))
    // Ready, so back to its own limit (before it is listed: traffic never sees the boost).
    if (lowersOnReady(this.options.cores, pod.bootCores!)) {
      try {
        pod.group.setCores(this.options.cores)
        pod.boostEndedAt = this.now()
      } catch {
        // Exited meanwhile: its exit is handled by #gone.
      }
    }
    pod.startup = pod.process.startup as StartupBreakdown | undefined
    if (pod.process.timeOrigin !== undefined) pod.processSpawnMs = Math.max(0, pod.process.timeOrigin - spawnedAt)
    // Deleted while it booted.
    if ((pod.phase as Pod['phase']) === 'terminating') {
      pod.process.child.kill('SIGTERM')
      return
    }
    pod.phase = 'ready'
    pod.readyAt = this.now()
    pod.url = pod.process.url
    this.emit(
      'log',
      `${pod.name}: ready after ${((pod.readyAt - pod.createdAt) / 1000).toFixed(1)} s at ${pod.url}` +
        (pod.boostEndedAt !== undefined ? ` (booted at ${pod.bootCores} cores, now ${this.options.cores})` : ''),
    )
    this.#writeReplicasFile()
  }

  #delete(pod: Pod, drainDelayMs = this.options.drainDelayMs): void {
    const wasReady = pod.phase === 'ready'
    pod.phase = 'terminating'
    pod.deletedAt = this.now()
    if (pod.timer) {
      pod.timer.cancel()
      this.#gone(pod)
      return
    }
    if (!pod.process) return // still spawning: #start stops it when it reports ready
    if (wasReady) this.#writeReplicasFile()
    // The replica answers what it holds on SIGTERM, then exits (graceful shutdown).
    setTimeout(() => pod.process!.child.kill('SIGTERM'), wasReady ? drainDelayMs : 0)
  }

  #gone(pod: Pod): void {
    if (pod.goneAt !== undefined) return
    pod.cpuSeconds = this.#readCpu(pod)
    try {
      pod.throttledSeconds = pod.group?.throttledSeconds() ?? 0
      pod.group?.remove()
    } catch {
      // The group may still hold an exiting thread for a moment; removeStaleGroups cleans it next time.
    }
    pod.group = undefined
    pod.phase = 'terminating'
    pod.goneAt = this.now()
    if (pod.url) this.#writeReplicasFile()
  }

  #readCpu(pod: Pod): number {
    if (!pod.group) return pod.cpuSeconds
    try {
      pod.cpuSeconds = pod.group.cpuSeconds()
      pod.throttledSeconds = pod.group.throttledSeconds()
    } catch {
      // Removed meanwhile: the last reading stands.
    }
    return pod.cpuSeconds
  }

  #writeReplicasFile(): void {
    const urls = this.#pods.filter((p) => p.phase === 'ready' && p.url).map((p) => p.url)
    const file = this.options.replicasFile
    // Atomically, so the gateway never reads half a list.
    writeFileSync(`${file}.tmp`, `# ready replicas of the experiment's local cluster\n${urls.join('\n')}\n`)
    renameSync(`${file}.tmp`, file)
  }
}
