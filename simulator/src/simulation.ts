import { percentileOfSorted } from '../../common/percentile.ts'
import { createRandom, type Random } from '../../common/random.ts'
import { wouldMissDeadline } from '../../gateway/src/admission/admission.ts'
import { brownoutChoice } from '../../gateway/src/admission/brownout.ts'
import { Autoscaler, type AutoscalerOptions } from '../../gateway/src/autoscale/autoscaler.ts'
import { type PodRole, planRoles } from '../../gateway/src/autoscale/standby-plan.ts'
import { DrainRate } from '../../gateway/src/meters/drain-rate.ts'
import { VersionServiceTimes } from '../../gateway/src/meters/version-service-times.ts'
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

/**
 * A discrete-event simulation of the whole system: open-loop Poisson arrivals, the gateway's admission and single
 * queue with late binding (a request leaves the queue only for a free replica slot), pods that are pending for the
 * provisioning delay, boot for a measured time and then serve at a measured service time slowed by contention,
 * per-pod CPU usage for metrics-server, and a scaling controller ticked once a second. Deterministic for a seed.
 */
export function simulate(options: SimulationOptions): SimulationResult {
  const random = createRandom(options.seed)
  const serviceMs = serviceTimeSampler(options.serviceTime, createRandom(options.seed ^ 0x9e3779b9))
  const bootRandom: Random = createRandom(options.seed ^ 0x51ed270b)
  const contention = options.contention ?? [1]
  const arrivals: number[] = []
  for (let s = 0; s < options.workload.length; s++)
    arrivals.push(...arrivalsInSecond(s, options.workload[s]!, 'poisson', random))
  const latency = new Float64Array(arrivals.length).fill(Number.NaN)
  /** 1: admitted to the fallback (brownout). */
  const degradedJob = new Uint8Array(arrivals.length)
  const events = new EventQueue<SimEvent>()
  const queue: number[] = []
  let queueHead = 0
  let inFlight = 0
  let podCount = 0
  let now = 0
  let replicaMs = 0
  let requestedCoreMs = 0
  let standbyMs = 0
  let standbyTarget = 0
  const standbyModel = options.standby ?? DEFAULT_STANDBY_MODEL
  let specReplicas = options.controller.initialReplicas
  const endMs = options.workload.length * 1000
  const warmupS = Math.min(options.warmupS ?? 0, options.workload.length)
  const measuredFromMs = warmupS * 1000
  const { cpu } = options

  const cpuRate = (pod: Pod) =>
    pod.phase === 'pending'
      ? 0
      : pod.phase === 'booting'
        ? cpu.bootCores
        : pod.role === 'standby' && pod.busy === 0
          ? Math.min(cpu.idleCores, standbyModel.standbyCores)
          : cpu.idleCores + (pod.busy / options.slotsPerReplica) * (cpu.busyCores - cpu.idleCores)
  /** Its CPU request now: a waiting standby's is small; a booting one boots at the full limit, as a serving pod. */
  const requestCores = (pod: Pod) =>
    pod.role === 'standby' && pod.phase === 'ready' ? standbyModel.standbyCores : cpu.limitCores
  /** Brings a pod's CPU seconds up to now; call before changing what it does. */
  const account = (pod: Pod) => {
    pod.cpuSeconds += (cpuRate(pod) * (now - pod.accountedAt)) / 1000
    pod.accountedAt = now
  }
  // Derived from the pods on every change of phase (recount), not on every request: the hot path only reads them.
  let alive: Pod[] = []
  let routable: Pod[] = []
  let booting = 0
  /** Pods serving at least one request; with the booting ones, the pods using CPU at once (contention). */
  let busyPods = 0
  let requestedCores = 0
  let standbyPods = 0
  const advance = (to: number) => {
    // Cost is counted over the workload's measured span (after the warm-up), so policies compare on the same span.
    const span = Math.max(0, Math.min(to, endMs) - Math.max(Math.min(now, endMs), measuredFromMs))
    replicaMs += alive.length * span
    requestedCoreMs += requestedCores * span
    standbyMs += standbyPods * span
    now = to
  }
  const recount = () => {
    alive = alive.filter((p) => p.goneAt === undefined)
    routable = alive.filter((p) => p.phase === 'ready' && !p.draining && p.role === 'serving' && !p.promoting)
    booting = alive.reduce((n, p) => n + (p.phase === 'booting' ? 1 : 0), 0)
    requestedCores = alive.reduce((n, p) => n + requestCores(p), 0)
    standbyPods = alive.reduce((n, p) => n + (p.role === 'standby' ? 1 : 0), 0)
  }

  const addPod = (ready: boolean, role: PodRole = 'serving') => {
    const pod: Pod = {
      name: `pod-${podCount++}`,
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
    alive.push(pod)
    if (!ready) events.push(now + options.startup.provisioningMs, { kind: 'started', pod })
  }
  const retire = (pod: Pod) => {
    account(pod)
    if (pod.phase === 'ready' && pod.busy > 0) pod.draining = true
    else pod.goneAt = now
  }
  /**
   * To `target` serving pods and `standbys` warm ones, by the plan every cluster follows (standby-plan.ts): standbys
   * are promoted first (serving after the resize delay), new pods refill them; a ReplicaSet scaling down deletes
   * pending pods first, then unready ones, then the newest ready ones.
   */
  const scaleTo = (target: number, standbys: number) => {
    specReplicas = target
    standbyTarget = standbys
    const active = alive.filter((p) => !p.draining)
    const byName = new Map(active.map((p) => [p.name, p]))
    const plan = planRoles(active, { serving: target, standby: standbys })
    for (const name of plan.promote) {
      const pod = byName.get(name)!
      account(pod)
      pod.role = 'serving'
      if (pod.phase === 'ready') {
        pod.promoting = true
        events.push(now + standbyModel.resizeDelayMs, { kind: 'promoted', pod })
      }
    }
    for (const name of plan.demote) {
      const pod = byName.get(name)!
      account(pod)
      pod.role = 'standby'
      pod.promoting = false
    }
    for (const name of plan.remove) retire(byName.get(name)!)
    for (let i = 0; i < plan.create.serving; i++) addPod(false)
    for (let i = 0; i < plan.create.standby; i++) addPod(false, 'standby')
    recount()
  }
  const dispatch = () => {
    while (queueHead < queue.length) {
      let pod: Pod | undefined
      for (const p of routable) if (p.busy < options.slotsPerReplica && (!pod || p.busy < pod.busy)) pod = p
      if (!pod) return
      const job = queue[queueHead++]!
      if (now - arrivals[job]! > options.timeoutMs) continue // the client gave up: never served (NaN)
      account(pod)
      if (pod.busy++ === 0) busyPods++
      inFlight++
      const factor = contention[Math.min(contention.length, booting + busyPods) - 1] ?? 1
      const degraded = degradedJob[job] === 1
      const ms = serviceMs() * factor * (degraded ? options.brownout!.serviceRatio : 1)
      events.push(now + ms, { kind: 'done', pod, job, serviceMs: ms, degraded })
    }
  }
  // Admission as the gateway does it: on a measured pace, with each replica's peak-EWMA latency.
  const drainRate = new DrainRate()
  const meanServiceMs = options.serviceTime.mean_ms
  // The fallback's own service time and its probe, measured as the gateway does (per version).
  const fallbackTimes = new VersionServiceTimes()
  const FALLBACK = 'fallback'
  /** What admission decides for an arrival: the model, its fallback (brownout), or refused (false). */
  const admitted = (): 'primary' | 'fallback' | false => {
    if (queue.length - queueHead >= options.queueMax) return false
    const budgetMs = options.admissionBudgetMs
    if (budgetMs === undefined) return 'primary'
    // Waits while the pool wakes (scaled to zero); else no_replica: 503.
    if (routable.length === 0) return options.scaleToZero === true ? 'primary' : false
    const replicas = routable.map((p) => ({
      slots: options.slotsPerReplica,
      latencyMs: p.latencyMs ?? meanServiceMs,
      outstanding: p.busy,
    }))
    const budget = { timeoutMs: budgetMs, budgetMs, namedDeadline: false }
    const load = { queued: queue.length - queueHead, replicas, measuredPace: drainRate.pace(now) }
    if (!options.brownout) return wouldMissDeadline(budget, load) === undefined ? 'primary' : false
    // Every pod serves both versions (as local replicas serve every model in MODELS_DIR).
    const choice = brownoutChoice(budget, load, {
      replicas,
      serviceMs: fallbackTimes.serviceMs(FALLBACK),
      stale: fallbackTimes.stale(FALLBACK, now),
      probing: fallbackTimes.probing(FALLBACK, now),
    })
    if (choice.kind === 'fallback' && choice.probe) fallbackTimes.startProbe(FALLBACK, now + options.timeoutMs)
    return choice.kind === 'refuse' ? false : choice.kind
  }

  let latest = { backlog: 0, readyReplicas: specReplicas }
  const signal = new Autoscaler(
    { ...options.signal, initialServiceTimeS: 0.05 },
    undefined,
    () => latest,
    0,
    specReplicas,
  )
  const state = (): ClusterState => ({
    now,
    specReplicas,
    pods: alive
      .filter((p) => !p.draining && p.role === 'serving')
      .map((p) => {
        account(p)
        return { name: p.name, phase: p.phase, startedAt: p.startedAt, readyAt: p.readyAt, cpuSeconds: p.cpuSeconds }
      }),
    gauges: {
      desiredReplicas: signal.desired,
      desiredStandbys: signal.status.standbys,
      inSystem: queue.length - queueHead + inFlight,
    },
  })

  for (let i = 0; i < specReplicas; i++) addPod(true)
  recount()
  events.push(0, { kind: 'tick' })
  const timeline: SecondStats[] = []
  let nextArrival = 0
  let nextSecond = 1000

  while (nextArrival < arrivals.length || events.size > 0) {
    const arrivalAt = nextArrival < arrivals.length ? arrivals[nextArrival]! : Number.POSITIVE_INFINITY
    const eventAt = events.peekTime() ?? Number.POSITIVE_INFINITY
    const at = Math.min(arrivalAt, eventAt)
    while (nextSecond <= at && nextSecond <= endMs) {
      advance(nextSecond)
      timeline.push({
        second: nextSecond / 1000 - 1,
        arrivals: 0,
        p99: null,
        replicas: alive.length,
        ready: routable.length,
        standbys: standbyPods,
        queue: queue.length - queueHead,
      })
      nextSecond += 1000
    }
    if (at === Number.POSITIVE_INFINITY) break
    advance(at)
    if (arrivalAt <= eventAt) {
      const job = nextArrival++
      signal.recordArrival(now)
      const admission = admitted()
      if (admission === 'fallback') degradedJob[job] = 1
      if (admission) queue.push(job)
      dispatch()
      continue
    }
    const { item } = events.pop()!
    if (item.kind === 'done') {
      const { pod } = item
      account(pod)
      if (--pod.busy === 0) busyPods--
      inFlight--
      latency[item.job] = now - arrivals[item.job]!
      signal.recordServiceTime(item.serviceMs)
      drainRate.record(now)
      pod.latencyMs = updatePeakEwma(pod.latencyMs, item.serviceMs, now - pod.latencyAt, LATENCY_TAU_MS)
      pod.latencyAt = now
      if (item.degraded) fallbackTimes.record(FALLBACK, item.serviceMs, now)
      if (pod.draining && pod.busy === 0) {
        pod.goneAt = now
        recount()
      }
      dispatch()
    } else if (item.kind === 'started') {
      const { pod } = item
      if (pod.goneAt !== undefined) continue
      pod.phase = 'booting'
      pod.startedAt = now
      pod.accountedAt = now
      recount()
      const boot = options.startup.bootMs[Math.floor(bootRandom() * options.startup.bootMs.length)] ?? 0
      events.push(now + boot, { kind: 'ready', pod })
    } else if (item.kind === 'promoted') {
      const { pod } = item
      if (pod.goneAt !== undefined || pod.draining || pod.role !== 'serving' || !pod.promoting) continue
      account(pod)
      pod.promoting = false
      recount()
      dispatch()
    } else if (item.kind === 'ready') {
      const { pod } = item
      if (pod.goneAt !== undefined) continue
      account(pod)
      pod.phase = 'ready'
      pod.readyAt = now
      recount()
      dispatch()
    } else {
      latest = { backlog: queue.length - queueHead, readyReplicas: routable.length }
      signal.tick(now)
      const cluster = state()
      const next = options.controller.tick(cluster) ?? specReplicas
      const standbys = options.controller.standbys?.(cluster) ?? 0
      if (next !== specReplicas || standbys !== standbyTarget) scaleTo(next, standbys)
      dispatch()
      // Keep ticking while there is work: until the workload ends and the queue has drained.
      if (now < endMs || inFlight > 0 || queue.length > queueHead) events.push(now + 1000, { kind: 'tick' })
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead)
      queueHead = 0
    }
  }

  if (now < endMs) advance(endMs)
  let start = 0
  for (const row of timeline) {
    const end = start + (options.workload[row.second] ?? 0)
    const slice = Float64Array.from(Array.from(latency.subarray(start, end)).filter((l) => !Number.isNaN(l))).sort()
    row.arrivals = end - start
    row.p99 = slice.length === 0 ? null : Math.round(percentileOfSorted(slice, 0.99) * 10) / 10
    start = end
  }
  // Arrivals are in time order: the measured ones are those from the warm-up's end on.
  let firstMeasured = 0
  while (firstMeasured < arrivals.length && arrivals[firstMeasured]! < measuredFromMs) firstMeasured++
  const measured = latency.subarray(firstMeasured)
  const served = Array.from(measured).filter((l) => !Number.isNaN(l))
  const sorted = Float64Array.from(served).sort()
  const requests = measured.length
  const slow = served.filter((l) => l > options.sloMs).length + (requests - served.length)
  const duration = Math.max(1, options.workload.length - warmupS)
  const measuredTimeline = timeline
    .filter((t) => t.second >= warmupS)
    .map((t) => ({ ...t, second: t.second - warmupS }))
  return {
    policy: options.controller.name,
    requests,
    served: served.length,
    dropped: requests - served.length,
    degraded: degradedJob
      .subarray(firstMeasured)
      .reduce((n, d, i) => n + (d === 1 && !Number.isNaN(measured[i]!) ? 1 : 0), 0),
    slowShare: requests === 0 ? 0 : slow / requests,
    p50Ms: percentileOfSorted(sorted, 0.5),
    p99Ms: percentileOfSorted(sorted, 0.99),
    meanReplicas: replicaMs / 1000 / duration,
    maxReplicas: Math.max(
      ...measuredTimeline.map((t) => t.replicas),
      warmupS > 0 ? 0 : options.controller.initialReplicas,
    ),
    replicaSeconds: replicaMs / 1000,
    requestedCoreSeconds: requestedCoreMs / 1000,
    nodeCoreSeconds: (replicaMs / 1000) * cpu.limitCores,
    standbySeconds: standbyMs / 1000,
    timeline: measuredTimeline,
  }
}
