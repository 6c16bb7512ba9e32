import { EventEmitter } from 'node:events'
import { renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ServiceProcess, spawnReplica } from '../../common/service-process.ts'
import { type TimerAt, timerAt } from '../../common/timer-at.ts'
import { type PodRole, planRoles } from '../../gateway/src/autoscale/standby-plan.ts'
import type { StartupBreakdown } from '../../replica/src/startup-timing.ts'
import type { PodPhase, PodView } from '../../simulator/src/controllers/cluster-state.ts'
import { type BootBoost, bootLimitCores, lowersOnReady } from './boot-boost.ts'
import { CpuLimitedGroup } from './cgroup.ts'
import { residentMb } from './process-memory.ts'
import type { StandbyOptions } from './standby-options.ts'

export interface LocalClusterOptions {
  /** Each pod's CPU limit (= its request), cores. */
  cores: number
  /** Stand-in for scheduling and image pull: how long a new pod waits before its process starts. */
  provisioningMs: number
  /** Warm standbys (see scaleTo): their CPU quota while they wait, and the resize stand-in. Default: none asked. */
  standby?: StandbyOptions
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
  /** It was a standby when it became ready: nobody probes it until a promotion lists it, so its start-up ends at ready. */
  readyAsStandby?: boolean
}

interface Pod extends PodRecord {
  phase: PodPhase | 'terminating'
  /** Serving pods are listed once ready; standbys wait unlisted at the standby quota (see scaleTo). */
  role: PodRole
  /** Standby time so far (ms) and, while it waits as one, since when (performance.now()). */
  standbyMs: number
  standbySince?: number
  promotions: number
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
  /** Promoted standbys waiting out the resize stand-in (listed when it fires): kept off the pods, which are records. */
  readonly #resizing = new Map<Pod, NodeJS.Timeout>()
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

  /**
   * To `replicas` serving pods and `standbys` warm ones, by the plan every cluster follows (standby-plan.ts):
   * standbys are promoted first — their quota raised to `cores` after the resize stand-in, then listed — and new
   * pods refill the standby pool; scaling down demotes into a short pool, and otherwise deletes as a ReplicaSet
   * does (pending pods first, then unready ones, then the newest).
   */
  scaleTo(replicas: number, standbys = 0): void {
    if (this.#closed) return
    this.#spec = replicas
    const active = this.#pods.filter((p) => p.phase !== 'terminating')
    const byName = new Map(active.map((p) => [p.name, p]))
    const plan = planRoles(
      active.map((p) => ({ name: p.name, phase: p.phase as PodPhase, role: p.role, createdAt: p.createdAt })),
      { serving: replicas, standby: standbys },
    )
    for (const name of plan.promote) this.#promote(byName.get(name)!)
    for (const name of plan.demote) this.#demote(byName.get(name)!)
    for (const name of plan.remove) this.#delete(byName.get(name)!)
    for (let i = 0; i < plan.create.serving; i++) this.#create()
    for (let i = 0; i < plan.create.standby; i++) this.#create('standby')
  }

  /** Standbys (waiting, or promoted and waiting out the resize) with the CPU limit their group has now. */
  standbys(): { name: string; phase: PodPhase; promoting: boolean; cores: number | undefined }[] {
    return this.#pods.flatMap((p) =>
      p.phase !== 'terminating' && (p.role === 'standby' || this.#resizing.has(p))
        ? [{ name: p.name, phase: p.phase, promoting: this.#resizing.has(p), cores: this.#limit(p) }]
        : [],
    )
  }

  /** Each pod's time as a standby and its promotions (the requested cost counts that time at the standby quota). */
  standbyRecords(): StandbyRecord[] {
    const now = performance.now()
    return this.#pods.map((p) => ({
      name: p.name,
      standbySeconds: (p.standbyMs + (p.standbySince === undefined ? 0 : now - p.standbySince)) / 1000,
      promotions: p.promotions,
    }))
  }

  /** Resident memory of every running pod's process now, MB (for memory-seconds). */
  residentMb(): number {
    let mb = 0
    for (const p of this.#pods) {
      const pid = p.goneAt === undefined ? p.process?.child.pid : undefined
      if (pid !== undefined) mb += residentMb(pid)
    }
    return mb
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

  /** Pods as a controller sees them: existing, not terminating and serving (not standbys), with their CPU so far. */
  pods(): PodView[] {
    return this.#pods
      .filter((p) => p.phase !== 'terminating' && p.role === 'serving')
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

  #create(role: PodRole = 'serving'): void {
    const pod: Pod = {
      name: `replica-${this.#count++}`,
      phase: 'pending',
      role,
      standbyMs: 0,
      promotions: 0,
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
    if (pod.role === 'standby') {
      pod.readyAsStandby = true
      this.#holdAsStandby(pod)
    }
  }

  /** A booted standby waits at the standby quota, unlisted (a resize down: the process and its warm model stay). */
  #holdAsStandby(pod: Pod): void {
    if (pod.phase !== 'ready' || pod.role !== 'standby' || !pod.group) return
    try {
      pod.group.setCores(this.#standby().cores)
    } catch {
      return // exited meanwhile: #gone handles it
    }
    pod.standbySince ??= performance.now()
    this.emit('log', `${pod.name}: standby at ${this.#standby().cores} cores`)
  }

  /** A standby to serving: a booting one simply boots into service; a waiting one is resized up, then listed. */
  #promote(pod: Pod): void {
    pod.role = 'serving'
    pod.promotions++
    if (pod.standbySince !== undefined) {
      pod.standbyMs += performance.now() - pod.standbySince
      pod.standbySince = undefined
    }
    if (pod.phase !== 'ready') return
    const { resizeDelayMs } = this.#standby()
    const promotedAt = this.now()
    const timer = setTimeout(() => {
      this.#resizing.delete(pod)
      if (pod.role !== 'serving' || pod.phase !== 'ready' || !pod.group) return
      try {
        pod.group.setCores(this.options.cores)
      } catch {
        return
      }
      this.emit(
        'log',
        `${pod.name}: promoted to ${this.options.cores} cores ${(this.now() - promotedAt).toFixed(0)} ms after the decision`,
      )
      this.#writeReplicasFile()
    }, resizeDelayMs)
    this.#resizing.set(pod, timer)
  }

  /** Serving to standby: unlisted at once, resized down once the gateway has stopped routing to it (the drain delay). */
  #demote(pod: Pod): void {
    pod.role = 'standby'
    clearTimeout(this.#resizing.get(pod))
    this.#resizing.delete(pod)
    if (pod.phase !== 'ready') return
    this.#writeReplicasFile()
    setTimeout(() => this.#holdAsStandby(pod), this.options.drainDelayMs)
  }

  #standby(): StandbyOptions {
    if (!this.options.standby) throw new Error('this local cluster was made without standby options')
    return this.options.standby
  }

  /** The CPU limit of a pod's group now, cores (undefined before it has one or after it is gone). */
  #limit(pod: Pod): number | undefined {
    try {
      return pod.group?.cores
    } catch {
      return undefined
    }
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
    clearTimeout(this.#resizing.get(pod))
    this.#resizing.delete(pod)
    if (pod.standbySince !== undefined) pod.standbyMs += performance.now() - pod.standbySince
    pod.standbySince = undefined
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
    // Standbys and promoted pods still waiting out their resize are not routed to.
    const urls = this.#pods
      .filter((p) => p.phase === 'ready' && p.url && p.role === 'serving' && !this.#resizing.has(p))
      .map((p) => p.url)
    const file = this.options.replicasFile
    // Atomically, so the gateway never reads half a list.
    writeFileSync(`${file}.tmp`, `# ready replicas of the experiment's local cluster\n${urls.join('\n')}\n`)
    renameSync(`${file}.tmp`, file)
  }
}

/** A standby's life, for cost accounting: seconds spent waiting as a standby, and its promotions. */
export interface StandbyRecord {
  name: string
  standbySeconds: number
  promotions: number
}
