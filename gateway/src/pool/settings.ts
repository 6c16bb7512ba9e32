import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import type { HealthCheckOptions } from './health-checker.ts'
import type { ReplicaPoolOptions } from './replica-pool.ts'

/** How many requests each replica is given at once. */
export const replicaSlotSettings = {
  slotsPerReplica: setting({
    env: 'REPLICA_SLOTS',
    flag: 'replica-slots',
    description:
      'Requests each replica is given at once (its concurrency; 2 lets a replica preprocess the next image while its model runs — chosen by npm run bench:e2e)',
    parse: parse.positiveInteger(256),
    default: 2,
  }),
  slotsWhenQueued: setting({
    env: 'REPLICA_SLOTS_WHEN_QUEUED',
    flag: 'replica-slots-when-queued',
    description:
      'Requests each replica may hold while more jobs wait in the queue than there are replicas: one more per further ' +
      "replica-count jobs waiting, up to this, so its micro-batcher batches them (keep it within the replica's " +
      'MAX_INFLIGHT); 0, or not above REPLICA_SLOTS, is off: late binding only (measured with npm run bench:e2e; see the README)',
    parse: parse.integer({ min: 0, max: 256 }),
    default: 0,
  }),
}

/** How the pool learns a replica is ready or failing: active probes, connection timeouts, outlier ejection. */
export const replicaHealthSettings = {
  healthIntervalMs: setting({
    env: 'HEALTH_INTERVAL_MS',
    flag: 'health-interval-ms',
    description: 'How often each replica /readyz is probed',
    parse: parse.positiveInteger(),
    default: 1000,
  }),
  healthBootIntervalMs: setting({
    env: 'HEALTH_BOOT_INTERVAL_MS',
    flag: 'health-boot-interval-ms',
    description:
      'How often a replica that is not ready yet (booting) is probed, so it takes traffic as soon as it is warm; 0 = every HEALTH_INTERVAL_MS like the others',
    parse: parse.integer({ min: 0, max: 3_600_000 }),
    default: 100,
  }),
  healthBootWindowMs: setting({
    env: 'HEALTH_BOOT_WINDOW_MS',
    flag: 'health-boot-window-ms',
    description:
      'A replica still not ready this long after it was listed or last ready is probed every HEALTH_INTERVAL_MS again',
    parse: parse.integer({ min: 0, max: 86_400_000 }),
    default: 120_000,
  }),
  healthTimeoutMs: setting({
    env: 'HEALTH_TIMEOUT_MS',
    flag: 'health-timeout-ms',
    description: 'A probe without an answer by then counts as not ready',
    parse: parse.positiveInteger(),
    default: 800,
  }),
  healthFailureThreshold: setting({
    env: 'HEALTH_FAILURE_THRESHOLD',
    flag: 'health-failure-threshold',
    description:
      'Probes in a row without an answer that make a ready replica not ready (an answer of "not ready" or a refused connection counts at once)',
    parse: parse.positiveInteger(100),
    default: 3,
  }),
  healthSuccessThreshold: setting({
    env: 'HEALTH_SUCCESS_THRESHOLD',
    flag: 'health-success-threshold',
    description: 'Successful probes in a row that make a replica ready',
    parse: parse.positiveInteger(100),
    default: 1,
  }),
  connectTimeoutMs: setting({
    env: 'CONNECT_TIMEOUT_MS',
    flag: 'connect-timeout-ms',
    description: 'Give up connecting to a replica after this long',
    parse: parse.positiveInteger(),
    default: 1000,
  }),
  outlierFailures: setting({
    env: 'OUTLIER_CONSECUTIVE_FAILURES',
    flag: 'outlier-consecutive-failures',
    description: 'Consecutive failures (5xx, resets, no answer) that eject a replica',
    parse: parse.positiveInteger(1000),
    default: 3,
  }),
  ejectionBaseMs: setting({
    env: 'EJECTION_BASE_MS',
    flag: 'ejection-base-ms',
    description: 'First ejection length; doubles on each repeat',
    parse: parse.positiveInteger(),
    default: 1000,
  }),
  ejectionMaxMs: setting({
    env: 'EJECTION_MAX_MS',
    flag: 'ejection-max-ms',
    description: 'Longest ejection',
    parse: parse.positiveInteger(),
    default: 30_000,
  }),
}

export type ReplicaSlotConfig = ConfigOf<typeof replicaSlotSettings>
export type ReplicaHealthConfig = ConfigOf<typeof replicaHealthSettings>

export function replicaPoolOptions(config: ReplicaSlotConfig & ReplicaHealthConfig): ReplicaPoolOptions {
  return {
    slotsPerReplica: config.slotsPerReplica,
    connectionsPerReplica: config.slotsWhenQueued,
    connectTimeoutMs: config.connectTimeoutMs,
    outlier: {
      consecutiveFailures: config.outlierFailures,
      baseEjectionMs: config.ejectionBaseMs,
      maxEjectionMs: config.ejectionMaxMs,
    },
    readiness: {
      failureThreshold: config.healthFailureThreshold,
      successThreshold: config.healthSuccessThreshold,
    },
  }
}

export function healthCheckOptions(config: ReplicaHealthConfig): HealthCheckOptions {
  return {
    intervalMs: config.healthIntervalMs,
    timeoutMs: config.healthTimeoutMs,
    bootIntervalMs: config.healthBootIntervalMs,
    bootWindowMs: config.healthBootWindowMs,
  }
}
