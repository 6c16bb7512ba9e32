import { EventEmitter } from 'node:events'
import PQueue from 'p-queue'
import { SlidingWindowCounter } from '../measurements/sliding-window.ts'
import { combineDemand } from './combine-demand.ts'
import {
  arrivalTrend,
  burstRate,
  desiredReplicas,
  type Recommendation,
  type ScalingDecision,
  type ScalingInputs,
  type ScalingPolicy,
  scaleDownWindowS,
  stabilize,
} from './desired-replicas.ts'
import { type DemandSample, desiredStandbys, recordDemand, type StandbySetting } from './standby-count.ts'
import { initialStartupEstimate, type StartupEstimate, updateStartupEstimate } from './startup-estimate.ts'

export interface AutoscalerOptions extends ScalingPolicy {
  shortWindowS: number
  longWindowS: number
  scaleDownStabilizationS: number
  /** Scale-down waits at least this many measured start-ups (see scaleDownWindowS; 0: the stabilisation alone). */
  scaleDownStartups: number
  /** The short window's rate counts only what is beyond this many standard deviations of Poisson noise. */
  burstNoiseZ: number
  /** The trend of arrivals is measured over this window (its two halves compared). */
  trendWindowS: number
  /** Start-up assumed until one is measured, s (the measured one replaces it: see startup-estimate.ts). */
  startupS: number
  slotsPerReplica: number
  /** Assumed service time until the first answers are measured. */
  initialServiceTimeS: number
  /** Warm standbys to keep beside the serving replicas (see standby-count.ts); default off. */
  standby?: StandbySetting
  /** `auto` keeps at least this many standbys (default 1), at most `maxStandbys` (default: maxReplicas). */
  minStandbys?: number
  maxStandbys?: number
  /** `auto` sizes standbys from the bursts of this many seconds back. */
  standbyHorizonS?: number
}

/** Recommendations are kept this long, so a scale-down window that grows with the start-up can look back. */
const HISTORY_MS = 3_600_000

/** Squared coefficient of variation from a mean and a mean square (0 for constant times; never negative). */
export function serviceCv2(meanS: number, meanSquareS2: number): number {
  return meanS > 0 ? Math.max(0, meanSquareS2 / (meanS * meanS) - 1) : 1
}

/** Something that makes the number of replicas happen (local processes, a Kubernetes Deployment). */
export interface Actuator {
  readonly name: 'local' | 'kubernetes'
  /** `standbys`: warm pods to hold beside the serving ones (an actuator that cannot hold them ignores it). */
  apply(replicas: number, standbys?: number): Promise<void>
  /**
   * Brings the pods in line with the count last applied (which serve, which wait as standbys), on every tick
   * that leads and has nothing else to do: pods become ready between changes of the count.
   */
  reconcile?(replicas: number, standbys: number): Promise<void>
}

/**
 * The other gateways over the same replica pool. Every gateway sizes for the whole pool's demand (its own plus its
 * peers', see combine-demand.ts), so every one shows the same desired count and keeps the same scale-down history
 * (a new leader continues where the old one stopped); only the one that `leads` hands it to the actuator.
 */
export interface GatewayCluster {
  /** This gateway's identity (its pod name). */
  identity: string
  /** The peers' own measured inputs that count now. */
  peers(now: number): ScalingInputs[]
  /** Whether this gateway may actuate now (holds the Lease). */
  leads(now: number): boolean
}

/** One gateway alone: no peers, and it always leads. */
export const SINGLE_GATEWAY: GatewayCluster = { identity: 'gateway', peers: () => [], leads: () => true }

export interface AutoscaleStatus {
  desired: number
  /** Warm standbys wanted beside the desired serving replicas (0 with standbys off). */
  standbys: number
  decision: ScalingDecision
  /** What the decision was computed from: the whole pool's demand (this gateway's and its peers'). */
  inputs: ScalingInputs
  /** What this gateway measured of its own share (what its peers add up). */
  local_inputs: ScalingInputs
  /** This gateway's identity. */
  gateway: string
  /** Peers whose demand counted. */
  peers: number
  /** Whether this gateway is the one that actuates. */
  leader: boolean
  policy: AutoscalerOptions
  actuator: Actuator['name'] | 'none'
  updated_at: string
}

/**
 * The gateway's scaling signal: it meters arrivals (every prediction request, refused ones included: they are
 * demand too), service time (mean upstream latency, EWMA) and backlog, and once per tick turns them into a desired
 * replica count (`desiredReplicas`, then `stabilize`). The count is exposed as a metric and on GET /autoscale, and
 * handed to an actuator when there is one. Emits 'decision' after each tick.
 */
export interface AutoscalerEvents {
  decision: [status: AutoscaleStatus]
  error: [error: unknown]
}

export class Autoscaler extends EventEmitter<AutoscalerEvents> {
  readonly options: AutoscalerOptions
  readonly #short: SlidingWindowCounter
  readonly #long: SlidingWindowCounter
  readonly #trend: SlidingWindowCounter
  readonly #trendRecent: SlidingWindowCounter
  #startup: StartupEstimate
  readonly #startedAt: number
  #serviceTimeS: number
  /** EWMA of the squared service time, s², for its variability. */
  #serviceTimeSquareS2: number
  #history: Recommendation[]
  #status: AutoscaleStatus | undefined
  /** Changes for the actuator, one at a time (see `tick`). */
  readonly #changes = new PQueue({ concurrency: 1 })
  readonly #cluster: GatewayCluster
  /** The count last handed to the actuator (undefined: none that stands, so the next leading tick writes). */
  #applied: string | undefined
  #reconcileError: string | undefined
  /** Demand and asks of the last standby horizon (see standby-count.ts). */
  #demand: DemandSample[] = []

  readonly actuator: Actuator | undefined
  /** The backlog and ready replicas right now (the gateway's queue and pool). */
  readonly readLoad: () => { backlog: number; readyReplicas: number }

  constructor(
    options: AutoscalerOptions,
    actuator: Actuator | undefined,
    readLoad: () => { backlog: number; readyReplicas: number },
    now: number,
    initialReplicas: number,
    cluster: GatewayCluster = SINGLE_GATEWAY,
  ) {
    super()
    this.#cluster = cluster
    this.actuator = actuator
    this.readLoad = readLoad
    this.options = options
    this.#short = new SlidingWindowCounter(options.shortWindowS * 1000, 60, now)
    this.#long = new SlidingWindowCounter(options.longWindowS * 1000, 60, now)
    this.#trend = new SlidingWindowCounter(options.trendWindowS * 1000, 20, now)
    this.#trendRecent = new SlidingWindowCounter((options.trendWindowS * 1000) / 2, 10, now)
    this.#startup = initialStartupEstimate(options.startupS)
    this.#startedAt = now
    this.#serviceTimeS = options.initialServiceTimeS
    // Until answers are measured, assume exponential service (cs² = 1): the pessimistic side of Erlang C.
    this.#serviceTimeSquareS2 = 2 * options.initialServiceTimeS ** 2
    // The replicas we start with count as a recent recommendation, so nothing scales down in the first window.
    this.#history = [{ at: now, replicas: initialReplicas }]
    this.#status = this.#decide(now)
    // Leading from the start (alone), it stands by its first decision (the replicas it started with); one that is
    // not yet leading writes its count on its first tick as the leader.
    this.#applied = this.#status.leader ? appliedKey(this.#status) : undefined
  }

  recordArrival(now: number): void {
    this.#short.add(now)
    this.#long.add(now)
    this.#trend.add(now)
    this.#trendRecent.add(now)
  }

  /** Mean time a request holds a replica slot, and its variability, from each answer's upstream latency. */
  recordServiceTime(ms: number): void {
    const s = ms / 1000
    this.#serviceTimeS = 0.95 * this.#serviceTimeS + 0.05 * s
    this.#serviceTimeSquareS2 = 0.95 * this.#serviceTimeSquareS2 + 0.05 * s * s
  }

  /** The latest decision (the constructor makes a first one). */
  get status(): AutoscaleStatus {
    return this.#status!
  }

  get desired(): number {
    return this.status.desired
  }

  /** One decision: measure, decide, stabilise, actuate (when this gateway leads). */
  tick(now: number): AutoscaleStatus {
    const status = this.#decide(now)
    this.#status = status
    if (!status.leader) this.#applied = undefined
    else if (this.actuator && this.#applied !== appliedKey(status)) {
      const actuator = this.actuator
      const { desired, standbys } = status
      const key = appliedKey(status)
      this.#applied = key
      // One change at a time, in order: scaling down waits for drains, and a later decision must not overtake it.
      // A change still waiting its turn is stale once a newer one comes: only the newest waits.
      this.#changes.clear()
      const change = () =>
        actuator.apply(desired, standbys).then(
          () => this.#reconcile(desired, standbys),
          (error) => {
            // Not applied: the next tick tries again (a PATCH lost to a blip must not wait for the next change).
            if (this.#applied === key) this.#applied = undefined
            this.emit('error', error)
          },
        )
      // The queue rejects a change it cleared before it ran: superseded, not failed.
      this.#changes.add(change).catch(() => {})
    } else if (this.actuator?.reconcile && this.#changes.size === 0 && this.#changes.pending === 0) {
      const { desired, standbys } = status
      this.#changes.add(() => this.#reconcile(desired, standbys)).catch(() => {})
    }
    this.emit('decision', status)
    return status
  }

  #decide(now: number): AutoscaleStatus {
    const { backlog, readyReplicas } = this.readLoad()
    // Early on, a window only holds the time since start: divide by that, not by its full length.
    const span = (windowS: number) => Math.max(1, Math.min(windowS, (now - this.#startedAt) / 1000))
    // A trend needs a whole window behind it: two halves of which one is empty are not a rise.
    const trendReady = now - this.#startedAt >= this.options.trendWindowS * 1000
    const recent = this.#trendRecent.total(now)
    const local: ScalingInputs = {
      arrivalRateShort: burstRate(this.#short.total(now), span(this.options.shortWindowS), this.options.burstNoiseZ),
      arrivalRateLong: this.#long.total(now) / span(this.options.longWindowS),
      serviceTimeS: this.#serviceTimeS,
      serviceTimeCv2: serviceCv2(this.#serviceTimeS, this.#serviceTimeSquareS2),
      backlog,
      slotsPerReplica: this.options.slotsPerReplica,
      readyReplicas,
      arrivalTrend: trendReady
        ? arrivalTrend(this.#trend.total(now) - recent, recent, this.options.trendWindowS / 2)
        : undefined,
      startupS: this.#startup.estimateS,
    }
    const peers = this.#cluster.peers(now)
    const inputs = combineDemand(local, peers)
    const decision = desiredReplicas(inputs, this.options)
    const stable = stabilize(
      this.#history,
      { at: now, replicas: decision.recommended },
      scaleDownWindowS(this.options.scaleDownStabilizationS, this.options.scaleDownStartups, this.#startup.estimateS) *
        1000,
      HISTORY_MS,
    )
    this.#history = stable.history
    this.#startup = updateStartupEstimate(this.#startup, now, stable.replicas, inputs.readyReplicas)
    const status: AutoscaleStatus = {
      desired: stable.replicas,
      standbys: this.#standbys(now, decision.shortWindow, stable.replicas),
      decision,
      inputs,
      local_inputs: local,
      gateway: this.#cluster.identity,
      peers: peers.length,
      leader: this.#cluster.leads(now),
      policy: this.options,
      actuator: this.actuator?.name ?? 'none',
      updated_at: new Date().toISOString(),
    }
    return status
  }

  /**
   * Standbys wanted now. Their look-back is a pod's start-up, never less than the configured one: promotions make
   * the measured start-up short, but a standby stands in for a new pod, whose start-up is what it covers.
   */
  #standbys(now: number, need: number, asked: number): number {
    const setting = this.options.standby ?? 'off'
    if (setting === 'off') return 0
    const horizonMs = (this.options.standbyHorizonS ?? 600) * 1000
    const startupMs = Math.max(this.options.startupS, this.#startup.estimateS) * 1000
    this.#demand = recordDemand(this.#demand, { at: now, need, asked }, horizonMs, startupMs)
    // A standby that could never be promoted (the serving pool already at MAX_REPLICAS) would only cost.
    const room = Math.max(0, this.options.maxReplicas - asked)
    const bounds = { min: this.options.minStandbys ?? 1, max: Math.min(this.options.maxStandbys ?? room, room) }
    return desiredStandbys(setting, bounds, this.#demand, now, horizonMs, startupMs)
  }

  /** The actuator's reconcile; a failure is reported once until it changes (it is retried every tick). */
  async #reconcile(desired: number, standbys: number): Promise<void> {
    try {
      await this.actuator?.reconcile?.(desired, standbys)
      this.#reconcileError = undefined
    } catch (error) {
      const message = (error as Error).message
      if (message !== this.#reconcileError) this.emit('error', error)
      this.#reconcileError = message
    }
  }

  /** Resolves when the actuator has done everything asked of it so far. */
  settled(): Promise<void> {
    return this.#changes.onIdle()
  }
}

/** What was last handed to the actuator: the serving count and the standbys. */
const appliedKey = (status: AutoscaleStatus) => `${status.desired}+${status.standbys}`
