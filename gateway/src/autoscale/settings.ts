import { availableParallelism } from 'node:os'
import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import type { ReplicaSlotConfig } from '../pool/settings.ts'
import type { AutoscalerOptions } from './autoscaler.ts'
import { cpuMillicores } from './cpu-quantity.ts'
import { parseStandbySetting, type StandbySetting } from './standby-count.ts'

/** Service time assumed until the first answers are measured, s. */
const INITIAL_SERVICE_TIME_S = 0.05

/**
 * What acts on the desired replica count, and the policy that computes it (desired-replicas.ts, standby-count.ts).
 * SLO_MS is here because the autoscaler plans to drain the queue within it; admission judges requests by it too.
 */
export const autoscaleSettings = {
  autoscaler: setting<'none' | 'local' | 'kubernetes' | undefined>({
    env: 'AUTOSCALER',
    flag: 'autoscaler',
    description:
      'What acts on the desired replica count: local (replica processes), kubernetes (Deployment scale), none (signal only; default local with DISCOVERY=local)',
    parse: parse.oneOf(['none', 'local', 'kubernetes']),
    default: undefined,
  }),
  minReplicas: setting({
    env: 'MIN_REPLICAS',
    flag: 'min-replicas',
    description: 'Autoscaling lower bound',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 1,
  }),
  maxReplicas: setting({
    env: 'MAX_REPLICAS',
    flag: 'max-replicas',
    description: 'Autoscaling upper bound (default: one per core for local replicas, else 100)',
    parse: parse.integer({ min: 1, max: 10_000 }),
    default: (partial) => (partial.discovery === 'local' ? availableParallelism() : 100),
  }),
  targetUtilization: setting({
    env: 'TARGET_UTILIZATION',
    flag: 'target-utilization',
    description:
      'Most replica slot utilisation the autoscaler sizes for (a ceiling: --wait-tail-share asks for more when the SLO needs it)',
    parse: parse.number({ min: 0.05, max: 1 }),
    default: 0.9,
  }),
  sloMs: setting({
    env: 'SLO_MS',
    flag: 'slo-ms',
    description:
      'Latency objective: requests without X-Timeout-Ms are admitted only if expected to be answered within it, and the autoscaler plans to drain the queue within it',
    parse: parse.positiveInteger(),
    default: 500,
  }),
  scaleDownStabilizationS: setting({
    env: 'SCALE_DOWN_STABILIZATION_S',
    flag: 'scale-down-stabilization-s',
    description: 'Scale down only to the highest recommendation of this window',
    parse: parse.integer({ min: 0 }),
    default: 10,
  }),
  scaleDownStartups: setting({
    env: 'SCALE_DOWN_STARTUPS',
    flag: 'scale-down-startups',
    description:
      'Scale down only to the highest recommendation of this many measured replica start-ups, when longer than the stabilisation (0: the stabilisation alone)',
    parse: parse.number({ min: 0, max: 100 }),
    default: 3,
  }),
  panicThreshold: setting({
    env: 'PANIC_THRESHOLD',
    flag: 'panic-threshold',
    description: 'Short-window demand, as a multiple of ready capacity, that freezes scale-down',
    parse: parse.number({ min: 1 }),
    default: 2,
  }),
  shortWindowS: setting({
    env: 'SHORT_WINDOW_S',
    flag: 'short-window-s',
    description: 'Arrival-rate window for reacting to bursts (tuned on training workloads: npm run tune)',
    parse: parse.positiveInteger(3600),
    default: 1,
  }),
  replicaStartupS: setting({
    env: 'REPLICA_STARTUP_S',
    flag: 'replica-startup-s',
    description:
      'How long a new replica takes to become ready, until one is measured (ask to ready): the forecast and the backlog term plan around it',
    parse: parse.number({ min: 0, max: 3600 }),
    default: 5,
  }),
  standby: setting<StandbySetting>({
    env: 'STANDBY',
    flag: 'standby',
    description:
      'Warm standbys beside the serving replicas, promoted by an in-place CPU resize when scaling up: auto (as many as the bursts seen outgrew the pool within one start-up, at least MIN_STANDBYS), off, or a count. Held by AUTOSCALER=kubernetes (pods/resize; k8s/overlays/custom turns it on, with the Service selecting serving pods only); the local actuator ignores them',
    parse: parseStandbySetting,
    default: 'off',
  }),
  minStandbys: setting({
    env: 'MIN_STANDBYS',
    flag: 'min-standbys',
    description: 'STANDBY=auto keeps at least this many warm standbys, before any burst has sized them',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 1,
  }),
  maxStandbys: setting({
    env: 'MAX_STANDBYS',
    flag: 'max-standbys',
    description: 'At most this many warm standbys',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 4,
  }),
  standbyHorizonS: setting({
    env: 'STANDBY_HORIZON_S',
    flag: 'standby-horizon-s',
    description: 'STANDBY=auto sizes the standbys from the bursts of this many seconds back',
    parse: parse.integer({ min: 1, max: 86_400 }),
    default: 600,
  }),
  standbyCpu: setting({
    env: 'STANDBY_CPU',
    flag: 'standby-cpu',
    description:
      "kubernetes: a standby's CPU request and limit (a Kubernetes quantity); promotion resizes it to the Deployment template's",
    parse: (raw) => {
      if (!cpuMillicores(raw)) throw new Error('expected a CPU quantity above 0, e.g. 50m or 0.05')
      return raw
    },
    default: '50m',
  }),
  waitTailShare: setting({
    env: 'WAIT_TAIL_SHARE',
    flag: 'wait-tail-share',
    description:
      'Replicas are added beyond what the target utilisation asks for until, by M/G/c (Erlang C with the measured service-time variability, Allen–Cunneen), at most this share of requests would wait past what the SLO leaves after service (1: utilisation alone; tuned: npm run tune)',
    parse: parse.number({ min: 0.000001, max: 1 }),
    default: 0.001,
  }),
  burstNoiseZ: setting({
    env: 'BURST_NOISE_Z',
    flag: 'burst-noise-z',
    description:
      'The short window counts only arrivals beyond this many standard deviations of Poisson noise (tuned on training workloads: npm run tune)',
    parse: parse.number({ min: 0, max: 10 }),
    default: 0,
  }),
  trendGain: setting({
    env: 'TREND_GAIN',
    flag: 'trend-gain',
    description:
      'Share of the start-up the short-window rate is extrapolated over along the arrivals trend (0: no forecast; tuned on training workloads: npm run tune)',
    parse: parse.number({ min: 0, max: 10 }),
    default: 0,
  }),
  trendWindowS: setting({
    env: 'TREND_WINDOW_S',
    flag: 'trend-window-s',
    description: 'Window whose two halves are compared for the arrivals trend',
    parse: parse.positiveInteger(3600),
    default: 10,
  }),
  longWindowS: setting({
    env: 'LONG_WINDOW_S',
    flag: 'long-window-s',
    description: 'Arrival-rate window for the stable rate',
    parse: parse.positiveInteger(3600),
    default: 20,
  }),
  autoscaleIntervalMs: setting({
    env: 'AUTOSCALE_INTERVAL_MS',
    flag: 'autoscale-interval-ms',
    description: 'How often the desired replica count is computed',
    parse: parse.positiveInteger(),
    default: 1000,
  }),
}

export type AutoscaleConfig = ConfigOf<typeof autoscaleSettings>

export function autoscalerOptions(
  config: AutoscaleConfig & Pick<ReplicaSlotConfig, 'slotsPerReplica'>,
): AutoscalerOptions {
  return {
    targetUtilization: config.targetUtilization,
    drainTimeS: config.sloMs / 1000,
    startupS: config.replicaStartupS,
    minReplicas: config.minReplicas,
    maxReplicas: config.maxReplicas,
    panicThreshold: config.panicThreshold,
    shortWindowS: config.shortWindowS,
    burstNoiseZ: config.burstNoiseZ,
    waitTailShare: config.waitTailShare,
    trendGain: config.trendGain,
    trendWindowS: config.trendWindowS,
    longWindowS: config.longWindowS,
    scaleDownStabilizationS: config.scaleDownStabilizationS,
    scaleDownStartups: config.scaleDownStartups,
    slotsPerReplica: config.slotsPerReplica,
    initialServiceTimeS: INITIAL_SERVICE_TIME_S,
    standby: config.standby,
    minStandbys: config.minStandbys,
    maxStandbys: config.maxStandbys,
    standbyHorizonS: config.standbyHorizonS,
  }
}
