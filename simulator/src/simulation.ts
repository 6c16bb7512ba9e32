import { percentileOfSorted } from '../../common/percentile.ts'
import { createRandom, type Random } from '../../common/random.ts'
import { wouldMissDeadline } from '../../gateway/src/admission/admission.ts'
import { brownoutChoice } from '../../gateway/src/admission/brownout.ts'
import { Autoscaler, type AutoscalerOptions } from '../../gateway/src/autoscale/autoscaler.ts'
import { type PodRole, planRoles } from '../../gateway/src/autoscale/standby-plan.ts'
import { DrainRate } from '../../gateway/src/measurements/drain-rate.ts'
import { VersionServiceTimes } from '../../gateway/src/measurements/version-service-times.ts'
import { LATENCY_TAU_MS, updatePeakEwma } from '../../gateway/src/pool/peak-ewma.ts'
import { arrivalsInSecond } from '../../loadtester/src/arrivals.ts'
import type { ClusterState, PodView, ScalingController } from './controllers/cluster-state.ts'
import { EventQueue } from './event-queue.ts'
import { type ServiceTimeModel, serviceTimeSampler } from './service-time.ts'

/** From the decision to add a pod until it serves: scheduling and image pull, then the process's own boot. */
export interface StartupModel {
  /** Before the container starts (scheduling, image pull): a stand-in delay in real runs. */
  provisioningMs: number
  /** Measured boots (process start to ready: model load, warm-up); each new pod draws one. */
  bootMs: readonly number[]
}

/** What a pod's CPU does, in cores, at its limit (request = limit, as the k8s manifests set it). */
export interface CpuModel {
  limitCores: number
  idleCores: number
  /** While serving (one slot): the limit, less what waits on I/O. */
  busyCores: number
  /** While booting (model load, warm-up). */
  bootCores: number
}

/** Warm standbys (booted pods held at a small CPU request, not routed to): what promoting one takes and costs. */
export interface StandbyModel {
  /** From the decision to promote until the pod serves at its full CPU: the kubelet's in-place resize. */
  resizeDelayMs: number
  /** A standby's CPU request (and limit) while it waits, cores. */
  standbyCores: number
}

export interface SimulationOptions {
  /** Requests per second, already scaled. */
  workload: readonly number[]
  /** One replica alone at its CPU limit. */
  serviceTime: ServiceTimeModel
  /**
   * Service-time factor when k pods use CPU at once (busy or booting), index k − 1: they share the machine's
   * cores with each other, the gateway and the load tester. Beyond the list, the last factor holds.
   */
  contention?: readonly number[]
  controller: ScalingController
  startup: StartupModel
  cpu: CpuModel
  /** The gateway's own autoscaler, run on simulated time: its gateway_desired_replicas is a gauge every policy sees. */
  signal: Omit<AutoscalerOptions, 'initialServiceTimeS'>
  slotsPerReplica: number
  sloMs: number
  /** Requests still queued this long after arriving are dropped (the client's deadline). */
  timeoutMs: number
  /**
   * The gateway refuses (503) an arrival whose expected answer is beyond this (its SLO, for requests without a
   * deadline), as its admission does; undefined: admit everything the queue holds.
   */
  admissionBudgetMs?: number
  /** Beyond this many queued requests, arrivals are refused (503). */
  queueMax: number
  /**
   * Brownout: every pod also serves a fallback taking `serviceRatio` × the model's service time; an arrival the model
   * would not answer within the admission budget is answered by it when the gateway's own rule
   * (`brownoutChoice`) expects it to be. Undefined: refused, as without a fallback.
   */
  brownout?: { serviceRatio: number }
  seed: number
  /** How standbys behave, for a controller that asks for them (see ScalingController.standbys). */
  standby?: StandbyModel
  /** Scaled to zero, a request finding no ready pod waits in the queue (the gateway's wakingFromZero). */
  scaleToZero?: boolean
  /**
   * A warm-up: the workload's first `warmupS` seconds run (the controller scales on them) but are not measured —
   * requests arriving in them, their cost and their timeline rows are left out, as a pool already running would be.
   */
  warmupS?: number
}

/** Without a model: a resize of about a second (see experiment's --resize-delay-ms), a 50 m request. */
export const DEFAULT_STANDBY_MODEL: StandbyModel = { resizeDelayMs: 1000, standbyCores: 0.05 }

interface Pod extends PodView {
  createdAt: number
  /** Serving pods are routed to once ready; standbys wait, booted, at the standby request. */
  role: PodRole
  /** A standby promoted, not yet resized up: serves from the 'promoted' event. */
  promoting: boolean
  busy: number
  /** Retired: out of routing, finishing what it holds. */
  draining: boolean
  goneAt?: number
  /** For CPU accounting: cpuSeconds is integrated up to here. */
  accountedAt: number
  /** The gateway's peak-EWMA latency of this replica, and when it was last updated. */
  latencyMs?: number
  latencyAt: number
}

type SimEvent =
  | { kind: 'done'; pod: Pod; job: number; serviceMs: number; degraded: boolean }
  | { kind: 'started'; pod: Pod }
  | { kind: 'ready'; pod: Pod }
  | { kind: 'promoted'; pod: Pod }
  | { kind: 'tick' }

export interface SecondStats {
  second: number
  arrivals: number
  /** p99 of the latency of requests that arrived in this second (served ones), ms. */
  p99: number | null
  /** Pods existing (pending, booting, ready or draining) at the end of the second: the cores paid for. */
  replicas: number
  ready: number
  /** Standbys existing at the end of the second (booting or ready), counted in `replicas` too. */
  standbys: number
  queue: number
}

export interface SimulationResult {
  policy: string
  requests: number
  served: number
  /** Never served: refused at admission, refused by a full queue, or past the client's deadline. */
  dropped: number
  /** Served by the fallback (brownout); 0 without one. */
  degraded: number
  /** Share of all requests that were dropped or took longer than the SLO. */
  slowShare: number
  p50Ms: number
  p99Ms: number
  meanReplicas: number
  maxReplicas: number
  /** Pod-seconds, every pod at its full size: the cores that must be free on the nodes (× the CPU limit). */
  replicaSeconds: number
  /** Core-seconds requested: standbys at their small request, every other pod at its limit. */
  requestedCoreSeconds: number
  /** Core-seconds that must be free on the nodes for every resize to succeed: every pod at its limit. */
  nodeCoreSeconds: number
  /** Pod-seconds of standbys (in replicaSeconds too); memory-seconds are pod-seconds × a replica's RSS. */
  standbySeconds: number
  timeline: SecondStats[]
}

/** The fallback's version key in the per-version service times (every pod serves both versions). */
const FALLBACK = 'fallback'

/**
 * A discrete-event simulation of the whole system: open-loop Poisson arrivals, the gateway's admission and single
 * queue with late binding (a request leaves the queue only for a free replica slot), pods that are pending for the
 * provisioning delay, boot for a measured time and then serve at a measured service time slowed by contention,
 * per-pod CPU usage for metrics-server, and a scaling controller ticked once a second. Deterministic for a seed.
 */
export function simulate(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run()
}

/** One run of `simulate`: the cluster's state on simulated time, and a named step for each thing that happens. */
class Simulation {
  readonly #options: SimulationOptions
  readonly #serviceMs: () => number
  readonly #bootRandom: Random
  readonly #contention: readonly number[]
  readonly #standbyModel: StandbyModel
  readonly #endMs: number
  readonly #warmupS: number
  readonly #measuredFromMs: number
  /** Arrival times, ms, in order; a request is its index here. */
  readonly #arrivals: number[]
  /** Per request: NaN until it is served. */
  readonly #latency: Float64Array
  /** 1: admitted to the fallback (brownout). */
  readonly #degradedJob: Uint8Array
  readonly #events = new EventQueue<SimEvent>()
  readonly #queue: number[] = []
  #queueHead = 0
  #inFlight = 0
  #podCount = 0
  #now = 0
  #replicaMs = 0
  #requestedCoreMs = 0
  #standbyMs = 0
  #standbyTarget = 0
  #specReplicas: number
  // Derived from the pods on every change of phase (recount), not on every request: the hot path only reads them.
  #alive: Pod[] = []
  #routable: Pod[] = []
  #booting = 0
  /** Pods serving at least one request; with the booting ones, the pods using CPU at once (contention). */
  #busyPods = 0
  #requestedCores = 0
  #standbyPods = 0
  // Admission as the gateway does it: on a measured pace, with each replica's peak-EWMA latency.
  readonly #drainRate = new DrainRate()
  // The fallback's own service time and its probe, measured as the gateway does (per version).
  readonly #fallbackTimes = new VersionServiceTimes()
  /** What the gateway's autoscaler reads of the cluster at its tick. */
  #latest: { backlog: number; readyReplicas: number }
  readonly #signal: Autoscaler
  readonly #timeline: SecondStats[] = []
  #nextSecond = 1000

  constructor(options: SimulationOptions) {
    this.#options = options
    const random = createRandom(options.seed)
    this.#serviceMs = serviceTimeSampler(options.serviceTime, createRandom(options.seed ^ 0x9e3779b9))
    this.#bootRandom = createRandom(options.seed ^ 0x51ed270b)
    this.#contention = options.contention ?? [1]
    this.#arrivals = []
    for (let s = 0; s < options.workload.length; s++)
      this.#arrivals.push(...arrivalsInSecond(s, options.workload[s]!, 'poisson', random))
    this.#latency = new Float64Array(this.#arrivals.length).fill(Number.NaN)
    this.#degradedJob = new Uint8Array(this.#arrivals.length)
    this.#standbyModel = options.standby ?? DEFAULT_STANDBY_MODEL
    this.#specReplicas = options.controller.initialReplicas
    this.#endMs = options.workload.length * 1000
    this.#warmupS = Math.min(options.warmupS ?? 0, options.workload.length)
    this.#measuredFromMs = this.#warmupS * 1000
    this.#latest = { backlog: 0, readyReplicas: this.#specReplicas }
    this.#signal = new Autoscaler(
      { ...options.signal, initialServiceTimeS: 0.05 },
      undefined,
      () => this.#latest,
      0,
      this.#specReplicas,
    )
  }

  run(): SimulationResult {
    for (let i = 0; i < this.#specReplicas; i++) this.#addPod(true)
    this.#recount()
    this.#events.push(0, { kind: 'tick' })
    const arrivals = this.#arrivals
    let nextArrival = 0
    while (nextArrival < arrivals.length || this.#events.size > 0) {
      const arrivalAt = nextArrival < arrivals.length ? arrivals[nextArrival]! : Number.POSITIVE_INFINITY
      const eventAt = this.#events.peekTime() ?? Number.POSITIVE_INFINITY
      const at = Math.min(arrivalAt, eventAt)
      this.#endSecondsUpTo(at)
      if (at === Number.POSITIVE_INFINITY) break
      this.#advance(at)
      if (arrivalAt <= eventAt) this.#arrive(nextArrival++)
      else this.#handle(this.#events.pop()!.item)
    }
    if (this.#now < this.#endMs) this.#advance(this.#endMs)
    return this.#results()
  }

  #handle(event: SimEvent): void {
    switch (event.kind) {
      case 'done':
        this.#complete(event)
        break
      case 'started':
        this.#startPod(event.pod)
        break
      case 'promoted':
        this.#promoted(event.pod)
        break
      case 'ready':
        this.#podReady(event.pod)
        break
      case 'tick':
        this.#tick()
        break
    }
    if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead)
      this.#queueHead = 0
    }
  }

  /** One timeline row for each whole second that ends by `at` (within the workload). */
  #endSecondsUpTo(at: number): void {
    while (this.#nextSecond <= at && this.#nextSecond <= this.#endMs) {
      this.#advance(this.#nextSecond)
      this.#timeline.push({
        second: this.#nextSecond / 1000 - 1,
        arrivals: 0,
        p99: null,
        replicas: this.#alive.length,
        ready: this.#routable.length,
        standbys: this.#standbyPods,
        queue: this.#queue.length - this.#queueHead,
      })
      this.#nextSecond += 1000
    }
  }

  /** Moves the clock to `to`, accounting the cost of the pods alive meanwhile. */
  #advance(to: number): void {
    // Cost is counted over the workload's measured span (after the warm-up), so policies compare on the same span.
    const span = Math.max(
      0,
      Math.min(to, this.#endMs) - Math.max(Math.min(this.#now, this.#endMs), this.#measuredFromMs),
    )
    this.#replicaMs += this.#alive.length * span
    this.#requestedCoreMs += this.#requestedCores * span
    this.#standbyMs += this.#standbyPods * span
    this.#now = to
  }

  #cpuRate(pod: Pod): number {
    const { cpu } = this.#options
    return pod.phase === 'pending'
      ? 0
      : pod.phase === 'booting'
        ? cpu.bootCores
        : pod.role === 'standby' && pod.busy === 0
          ? Math.min(cpu.idleCores, this.#standbyModel.standbyCores)
          : cpu.idleCores + (pod.busy / this.#options.slotsPerReplica) * (cpu.busyCores - cpu.idleCores)
  }

  /** Its CPU request now: a waiting standby's is small; a booting one boots at the full limit, as a serving pod. */
  #requestCores(pod: Pod): number {
    return pod.role === 'standby' && pod.phase === 'ready'
      ? this.#standbyModel.standbyCores
      : this.#options.cpu.limitCores
  }

  /** Brings a pod's CPU seconds up to now; call before changing what it does. */
  #account(pod: Pod): void {
    pod.cpuSeconds += (this.#cpuRate(pod) * (this.#now - pod.accountedAt)) / 1000
    pod.accountedAt = this.#now
  }

  #recount(): void {
    this.#alive = this.#alive.filter((p) => p.goneAt === undefined)
    this.#routable = this.#alive.filter(
      (p) => p.phase === 'ready' && !p.draining && p.role === 'serving' && !p.promoting,
    )
    this.#booting = this.#alive.reduce((n, p) => n + (p.phase === 'booting' ? 1 : 0), 0)
    this.#requestedCores = this.#alive.reduce((n, p) => n + this.#requestCores(p), 0)
    this.#standbyPods = this.#alive.reduce((n, p) => n + (p.role === 'standby' ? 1 : 0), 0)
  }

  /** A request arrives: the autoscaler counts it, admission takes it in (or refuses it), the queue moves. */
  #arrive(job: number): void {
    this.#signal.recordArrival(this.#now)
    const admission = this.#admit()
    if (admission === 'fallback') this.#degradedJob[job] = 1
    if (admission) this.#queue.push(job)
    this.#dispatch()
  }

  /** What admission decides for an arrival: the model, its fallback (brownout), or refused (false). */
  #admit(): 'primary' | 'fallback' | false {
    const options = this.#options
    const now = this.#now
    if (this.#queue.length - this.#queueHead >= options.queueMax) return false
    const budgetMs = options.admissionBudgetMs
    if (budgetMs === undefined) return 'primary'
    // Waits while the pool wakes (scaled to zero); else no_replica: 503.
    if (this.#routable.length === 0) return options.scaleToZero === true ? 'primary' : false
    const replicas = this.#routable.map((p) => ({
      slots: options.slotsPerReplica,
      latencyMs: p.latencyMs ?? options.serviceTime.mean_ms,
      load: p.busy,
    }))
    const budget = { timeoutMs: budgetMs, budgetMs, namedDeadline: false }
    const load = {
      queued: this.#queue.length - this.#queueHead,
      replicas,
      measuredPace: this.#drainRate.pace(now),
    }
    if (!options.brownout) return wouldMissDeadline(budget, load) === undefined ? 'primary' : false
    // Every pod serves both versions (as local replicas serve every model in MODELS_DIR).
    const fallbackTimes = this.#fallbackTimes
    const choice = brownoutChoice(budget, load, {
      replicas,
      serviceMs: fallbackTimes.serviceMs(FALLBACK),
      stale: fallbackTimes.stale(FALLBACK, now),
      probing: fallbackTimes.probing(FALLBACK, now),
    })
    if (choice.kind === 'fallback' && choice.probe) fallbackTimes.startProbe(FALLBACK, now + options.timeoutMs)
    return choice.kind === 'refuse' ? false : choice.kind
  }

  /** Late binding: queued requests go to the least busy routable pod while one has a free slot. */
  #dispatch(): void {
    const options = this.#options
    const queue = this.#queue
    while (this.#queueHead < queue.length) {
      let pod: Pod | undefined
      for (const p of this.#routable) if (p.busy < options.slotsPerReplica && (!pod || p.busy < pod.busy)) pod = p
      if (!pod) return
      const job = queue[this.#queueHead++]!
      if (this.#now - this.#arrivals[job]! > options.timeoutMs) continue // the client gave up: never served (NaN)
      this.#account(pod)
      if (pod.busy++ === 0) this.#busyPods++
      this.#inFlight++
      const factor = this.#contention[Math.min(this.#contention.length, this.#booting + this.#busyPods) - 1] ?? 1
      const degraded = this.#degradedJob[job] === 1
      const ms = this.#serviceMs() * factor * (degraded ? options.brownout!.serviceRatio : 1)
      this.#events.push(this.#now + ms, { kind: 'done', pod, job, serviceMs: ms, degraded })
    }
  }

  /** A request is answered: its latency, what the gateway measures of it, and a freed slot. */
  #complete({ pod, job, serviceMs, degraded }: Extract<SimEvent, { kind: 'done' }>): void {
    const now = this.#now
    this.#account(pod)
    if (--pod.busy === 0) this.#busyPods--
    this.#inFlight--
    this.#latency[job] = now - this.#arrivals[job]!
    this.#signal.recordServiceTime(serviceMs)
    this.#drainRate.record(now)
    pod.latencyMs = updatePeakEwma(pod.latencyMs, serviceMs, now - pod.latencyAt, LATENCY_TAU_MS)
    pod.latencyAt = now
    if (degraded) this.#fallbackTimes.record(FALLBACK, serviceMs, now)
    if (pod.draining && pod.busy === 0) {
      pod.goneAt = now
      this.#recount()
    }
    this.#dispatch()
  }

  #addPod(ready: boolean, role: PodRole = 'serving'): void {
    const now = this.#now
    const pod: Pod = {
      name: `pod-${this.#podCount++}`,
      phase: ready ? 'ready' : 'pending',
      role,
      promoting: false,
      createdAt: now,
      busy: 0,
      draining: false,
      cpuSeconds: 0,
      accountedAt: now,
      latencyAt: now,
      ...(ready ? { startedAt: now - 60_000, readyAt: now - 60_000 } : {}),
    }
    this.#alive.push(pod)
    if (!ready) this.#events.push(now + this.#options.startup.provisioningMs, { kind: 'started', pod })
  }

  /** Its container starts (provisioning is over): it boots for a measured time. */
  #startPod(pod: Pod): void {
    if (pod.goneAt !== undefined) return
    pod.phase = 'booting'
    pod.startedAt = this.#now
    pod.accountedAt = this.#now
    this.#recount()
    const { bootMs } = this.#options.startup
    const boot = bootMs[Math.floor(this.#bootRandom() * bootMs.length)] ?? 0
    this.#events.push(this.#now + boot, { kind: 'ready', pod })
  }

  #podReady(pod: Pod): void {
    if (pod.goneAt !== undefined) return
    this.#account(pod)
    pod.phase = 'ready'
    pod.readyAt = this.#now
    this.#recount()
    this.#dispatch()
  }

  /** A promoted standby's resize is done: it serves, unless it was demoted or retired meanwhile. */
  #promoted(pod: Pod): void {
    if (pod.goneAt !== undefined || pod.draining || pod.role !== 'serving' || !pod.promoting) return
    this.#account(pod)
    pod.promoting = false
    this.#recount()
    this.#dispatch()
  }

  #retire(pod: Pod): void {
    this.#account(pod)
    if (pod.phase === 'ready' && pod.busy > 0) pod.draining = true
    else pod.goneAt = this.#now
  }

  /** Once a second: the gateway's autoscaler and the controller look at the cluster, and the cluster follows. */
  #tick(): void {
    const options = this.#options
    this.#latest = { backlog: this.#queue.length - this.#queueHead, readyReplicas: this.#routable.length }
    this.#signal.tick(this.#now)
    const cluster = this.#clusterState()
    const next = options.controller.tick(cluster) ?? this.#specReplicas
    const standbys = options.controller.standbys?.(cluster) ?? 0
    if (next !== this.#specReplicas || standbys !== this.#standbyTarget) this.#scaleTo(next, standbys)
    this.#dispatch()
    // Keep ticking while there is work: until the workload ends and the queue has drained.
    if (this.#now < this.#endMs || this.#inFlight > 0 || this.#queue.length > this.#queueHead) {
      this.#events.push(this.#now + 1000, { kind: 'tick' })
    }
  }

  #clusterState(): ClusterState {
    return {
      now: this.#now,
      specReplicas: this.#specReplicas,
      pods: this.#alive
        .filter((p) => !p.draining && p.role === 'serving')
        .map((p) => {
          this.#account(p)
          return {
            name: p.name,
            phase: p.phase,
            startedAt: p.startedAt,
            readyAt: p.readyAt,
            cpuSeconds: p.cpuSeconds,
          }
        }),
      gauges: {
        desiredReplicas: this.#signal.desired,
        desiredStandbys: this.#signal.status.standbys,
        inSystem: this.#queue.length - this.#queueHead + this.#inFlight,
      },
    }
  }

  /**
   * To `target` serving pods and `standbys` warm ones, by the plan every cluster follows (standby-plan.ts): standbys
   * are promoted first (serving after the resize delay), new pods refill them; a ReplicaSet scaling down deletes
   * pending pods first, then unready ones, then the newest ready ones.
   */
  #scaleTo(target: number, standbys: number): void {
    this.#specReplicas = target
    this.#standbyTarget = standbys
    const active = this.#alive.filter((p) => !p.draining)
    const byName = new Map(active.map((p) => [p.name, p]))
    const plan = planRoles(active, { serving: target, standby: standbys })
    for (const name of plan.promote) {
      const pod = byName.get(name)!
      this.#account(pod)
      pod.role = 'serving'
      if (pod.phase === 'ready') {
        pod.promoting = true
        this.#events.push(this.#now + this.#standbyModel.resizeDelayMs, { kind: 'promoted', pod })
      }
    }
    for (const name of plan.demote) {
      const pod = byName.get(name)!
      this.#account(pod)
      pod.role = 'standby'
      pod.promoting = false
    }
    for (const name of plan.remove) this.#retire(byName.get(name)!)
    for (let i = 0; i < plan.create.serving; i++) this.#addPod(false)
    for (let i = 0; i < plan.create.standby; i++) this.#addPod(false, 'standby')
    this.#recount()
  }

  /** Latency, drops and cost over the measured span (after the warm-up), and the timeline with each second's p99. */
  #results(): SimulationResult {
    const options = this.#options
    const arrivals = this.#arrivals
    const warmupS = this.#warmupS
    let start = 0
    for (const row of this.#timeline) {
      const end = start + (options.workload[row.second] ?? 0)
      const slice = Float64Array.from(
        Array.from(this.#latency.subarray(start, end)).filter((l) => !Number.isNaN(l)),
      ).sort()
      row.arrivals = end - start
      row.p99 = slice.length === 0 ? null : Math.round(percentileOfSorted(slice, 0.99) * 10) / 10
      start = end
    }
    // Arrivals are in time order: the measured ones are those from the warm-up's end on.
    let firstMeasured = 0
    while (firstMeasured < arrivals.length && arrivals[firstMeasured]! < this.#measuredFromMs) firstMeasured++
    const measured = this.#latency.subarray(firstMeasured)
    const served = Array.from(measured).filter((l) => !Number.isNaN(l))
    const sorted = Float64Array.from(served).sort()
    const requests = measured.length
    const slow = served.filter((l) => l > options.sloMs).length + (requests - served.length)
    const duration = Math.max(1, options.workload.length - warmupS)
    const measuredTimeline = this.#timeline
      .filter((t) => t.second >= warmupS)
      .map((t) => ({ ...t, second: t.second - warmupS }))
    return {
      policy: options.controller.name,
      requests,
      served: served.length,
      dropped: requests - served.length,
      degraded: this.#degradedJob
        .subarray(firstMeasured)
        .reduce((n, d, i) => n + (d === 1 && !Number.isNaN(measured[i]!) ? 1 : 0), 0),
      slowShare: requests === 0 ? 0 : slow / requests,
      p50Ms: percentileOfSorted(sorted, 0.5),
      p99Ms: percentileOfSorted(sorted, 0.99),
      meanReplicas: this.#replicaMs / 1000 / duration,
      maxReplicas: Math.max(
        ...measuredTimeline.map((t) => t.replicas),
        warmupS > 0 ? 0 : options.controller.initialReplicas,
      ),
      replicaSeconds: this.#replicaMs / 1000,
      requestedCoreSeconds: this.#requestedCoreMs / 1000,
      nodeCoreSeconds: (this.#replicaMs / 1000) * options.cpu.limitCores,
      standbySeconds: this.#standbyMs / 1000,
      timeline: measuredTimeline,
    }
  }
}
