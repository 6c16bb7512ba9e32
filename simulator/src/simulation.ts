import { createRandom } from '../../common/random.ts'
import { arrivalsInSecond } from '../../loadtester/src/arrivals.ts'
import { EventQueue } from './event-queue.ts'
import type { ClusterObservation, SimulatedPolicy } from './policies.ts'
import { type ServiceTimeModel, serviceTimeSampler } from './service-time.ts'

export interface SimulationOptions {
  /** Requests per second, already scaled. */
  workload: readonly number[]
  serviceTime: ServiceTimeModel
  policy: SimulatedPolicy
  initialReplicas: number
  /** From the decision to start a replica until it is ready (image pull, model load, warm-up). */
  startupDelayMs: number
  slotsPerReplica: number
  sloMs: number
  /** Requests still queued this long after arriving are dropped (the client's deadline). */
  timeoutMs: number
  /** Beyond this many queued requests, arrivals are refused (503). */
  queueMax: number
  seed: number
}

interface Replica {
  readyAt: number
  busy: number
  state: 'starting' | 'ready' | 'draining' | 'gone'
  /** A scale-down retires the newest replicas first. */
  order: number
}

type SimEvent =
  | { kind: 'done'; replica: Replica; job: number; serviceMs: number }
  | { kind: 'ready'; replica: Replica }
  | { kind: 'tick' }

export interface SecondStats {
  second: number
  arrivals: number
  /** p99 of the latency of requests that arrived in this second (served ones), ms. */
  p99: number | null
  /** Replicas existing (starting, ready or draining) at the end of the second: the cores paid for. */
  replicas: number
  ready: number
  queue: number
}

export interface SimulationResult {
  policy: string
  requests: number
  served: number
  dropped: number
  /** Share of all requests that were dropped or took longer than the SLO. */
  slowShare: number
  p50Ms: number
  p99Ms: number
  meanReplicas: number
  maxReplicas: number
  replicaSeconds: number
  timeline: SecondStats[]
}

/**
 * A discrete-event simulation of the whole system: open-loop Poisson arrivals, the gateway's single queue with late
 * binding (a request leaves the queue only for a free replica slot), replicas whose service times are drawn from a
 * measured distribution and that take `startupDelayMs` to become ready, and a scaling policy deciding on its own
 * period. Deterministic for a seed.
 */
export function simulate(options: SimulationOptions): SimulationResult {
  const random = createRandom(options.seed)
  const serviceMs = serviceTimeSampler(options.serviceTime, createRandom(options.seed ^ 0x9e3779b9))
  const arrivals: number[] = []
  for (let s = 0; s < options.workload.length; s++)
    arrivals.push(...arrivalsInSecond(s, options.workload[s]!, 'poisson', random))
  const latency = new Float64Array(arrivals.length).fill(Number.NaN)
  const events = new EventQueue<SimEvent>()
  const replicas: Replica[] = []
  const free: Replica[] = [] // ready replicas with a free slot (may hold stale entries; checked on use)
  const queue: number[] = []
  let queueHead = 0
  let inFlight = 0
  let nextOrder = 0
  // Integrals over time, for utilisation (busy slot-ms / ready replica-ms) and cost (replica-ms).
  let now = 0
  let busySlotMs = 0
  let readyReplicaMs = 0
  let replicaMs = 0
  const utilisationMarks: { at: number; busy: number; ready: number }[] = []
  const counts = () => {
    let existing = 0
    let ready = 0
    let active = 0
    for (const r of replicas) {
      if (r.state === 'gone') continue
      existing++
      if (r.state === 'ready') ready++
      if (r.state !== 'draining') active++
    }
    return { existing, ready, active }
  }
  let current = { existing: 0, ready: 0, active: 0 }
  const endMs = options.workload.length * 1000
  const advance = (to: number) => {
    const dt = to - now
    busySlotMs += inFlight * dt
    readyReplicaMs += current.ready * dt
    // Cost is counted over the workload's duration, so policies compare on the same span.
    replicaMs += current.existing * Math.max(0, Math.min(to, endMs) - Math.min(now, endMs))
    now = to
  }

  const addReplica = (readyAt: number) => {
    const replica: Replica = { readyAt, busy: 0, state: readyAt <= now ? 'ready' : 'starting', order: nextOrder++ }
    replicas.push(replica)
    if (replica.state === 'ready') free.push(replica)
    else events.push(readyAt, { kind: 'ready', replica })
  }
  const scaleTo = (target: number) => {
    const active = replicas.filter((r) => r.state === 'starting' || r.state === 'ready')
    for (let i = active.length; i < target; i++) addReplica(now + options.startupDelayMs)
    const surplus = active.length - target
    if (surplus > 0) {
      // Cancel starting replicas first, then retire the newest ready ones (they drain before going).
      const victims = active
        .sort((a, b) => (a.state === b.state ? b.order - a.order : a.state === 'starting' ? -1 : 1))
        .slice(0, surplus)
      for (const r of victims) r.state = r.state === 'starting' || r.busy === 0 ? 'gone' : 'draining'
    }
    current = counts()
  }
  const dispatch = () => {
    while (queueHead < queue.length) {
      let replica = free.pop()
      while (replica && (replica.state !== 'ready' || replica.busy >= options.slotsPerReplica)) replica = free.pop()
      if (!replica) return
      const job = queue[queueHead++]!
      if (now - arrivals[job]! > options.timeoutMs) {
        // The client gave up long ago: dropped at dequeue, never served (it stays NaN in `latency`).
        free.push(replica)
        continue
      }
      replica.busy++
      inFlight++
      if (replica.busy < options.slotsPerReplica) free.push(replica)
      const ms = serviceMs()
      events.push(now + ms, { kind: 'done', replica, job, serviceMs: ms })
    }
  }
  const observe = (): ClusterObservation => ({
    now,
    replicas: current.active,
    ready: current.ready,
    queue: queue.length - queueHead,
    inFlight,
    utilization(windowMs) {
      const from = utilisationMarks.findLast((m) => m.at <= now - windowMs) ?? utilisationMarks[0]
      if (!from) return 0
      const readyMs = readyReplicaMs - from.ready
      return readyMs <= 0 ? 0 : (busySlotMs - from.busy) / (readyMs * options.slotsPerReplica)
    },
  })

  for (let i = 0; i < options.initialReplicas; i++) addReplica(0)
  current = counts()
  events.push(options.policy.intervalMs, { kind: 'tick' })
  const timeline: SecondStats[] = []
  let nextArrival = 0
  let nextSecond = 1000

  while (nextArrival < arrivals.length || events.size > 0) {
    const arrivalAt = nextArrival < arrivals.length ? arrivals[nextArrival]! : Number.POSITIVE_INFINITY
    const eventAt = events.peekTime() ?? Number.POSITIVE_INFINITY
    const at = Math.min(arrivalAt, eventAt)
    // Per-second samples and utilisation marks, at every second boundary crossed.
    while (nextSecond <= at && nextSecond <= endMs) {
      advance(nextSecond)
      utilisationMarks.push({ at: now, busy: busySlotMs, ready: readyReplicaMs })
      if (utilisationMarks.length > 400) utilisationMarks.shift()
      timeline.push({
        second: nextSecond / 1000 - 1,
        arrivals: 0,
        p99: null,
        replicas: current.existing,
        ready: current.ready,
        queue: queue.length - queueHead,
      })
      nextSecond += 1000
    }
    if (at === Number.POSITIVE_INFINITY) break
    advance(at)
    if (arrivalAt <= eventAt) {
      const job = nextArrival++
      options.policy.onArrival?.(now)
      // A full queue refuses the request (503): it is never served.
      if (queue.length - queueHead < options.queueMax) queue.push(job)
      dispatch()
      continue
    }
    const { item } = events.pop()!
    if (item.kind === 'done') {
      const { replica } = item
      replica.busy--
      inFlight--
      latency[item.job] = now - arrivals[item.job]!
      options.policy.onServiceTime?.(item.serviceMs)
      if (replica.state === 'draining' && replica.busy === 0) replica.state = 'gone'
      else if (replica.state === 'ready') free.push(replica)
      current = counts()
      dispatch()
    } else if (item.kind === 'ready') {
      if (item.replica.state === 'starting') {
        item.replica.state = 'ready'
        free.push(item.replica)
        current = counts()
        dispatch()
      }
    } else {
      scaleTo(options.policy.decide(observe()))
      dispatch()
      // Keep deciding while there is work: until the workload ends and the queue has drained.
      if (now < endMs || inFlight > 0 || queue.length > queueHead)
        events.push(now + options.policy.intervalMs, { kind: 'tick' })
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead)
      queueHead = 0
    }
  }

  if (now < endMs) advance(endMs)
  // Latency percentiles over all served requests, and p99 per arrival second.
  const served = Array.from(latency).filter((l) => !Number.isNaN(l))
  const sorted = Float64Array.from(served).sort()
  const percentile = (values: Float64Array, p: number) =>
    values.length === 0 ? Number.NaN : values[Math.min(values.length - 1, Math.floor(p * values.length))]!
  let start = 0
  for (const row of timeline) {
    const end = start + (options.workload[row.second] ?? 0)
    const slice = Float64Array.from(Array.from(latency.subarray(start, end)).filter((l) => !Number.isNaN(l))).sort()
    row.arrivals = end - start
    row.p99 = slice.length === 0 ? null : Math.round(percentile(slice, 0.99) * 10) / 10
    start = end
  }
  const slow = served.filter((l) => l > options.sloMs).length + (arrivals.length - served.length)
  const duration = Math.max(1, options.workload.length)
  return {
    policy: options.policy.name,
    requests: arrivals.length,
    served: served.length,
    dropped: arrivals.length - served.length,
    slowShare: arrivals.length === 0 ? 0 : slow / arrivals.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    meanReplicas: replicaMs / 1000 / duration,
    maxReplicas: Math.max(...timeline.map((t) => t.replicas), options.initialReplicas),
    replicaSeconds: replicaMs / 1000,
    timeline,
  }
}
