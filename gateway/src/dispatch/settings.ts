import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import { ROUTING_POLICY_NAMES } from '../balancing/policies.ts'
import type { ReplicaSlotConfig } from '../pool/settings.ts'
import type { QueueLimits } from '../queue/job-queue.ts'
import type { DispatcherOptions } from './dispatcher.ts'
import type { ForwardOptions } from './forward.ts'
import type { RetryBudgetOptions } from './retry-budget.ts'

/**
 * What the gateway holds and sends at once: requests in flight to replicas, how they are routed, the queue's
 * bounds and its low-priority lane, client connections, and the deadline of a request that names none.
 */
export const dispatchSettings = {
  maxInFlight: setting<number | 'auto'>({
    env: 'MAX_IN_FLIGHT_TO_REPLICAS',
    flag: 'max-in-flight-to-replicas',
    description: 'Requests in flight to replicas at once: a number, or auto (= total slots of ready replicas)',
    parse: (raw) => (raw === 'auto' ? 'auto' : parse.positiveInteger(100_000)(raw)),
    default: 'auto',
    // Its name until issue 31: deployments that set it keep working, warned to rename it.
    formerly: { env: 'WORKERS', flag: 'workers' },
  }),
  routing: setting({
    env: 'ROUTING',
    flag: 'routing',
    description: `Routing policy: ${ROUTING_POLICY_NAMES.slice(0, -1).join(', ')} or ${ROUTING_POLICY_NAMES.at(-1)}`,
    parse: parse.oneOf(ROUTING_POLICY_NAMES),
    default: 'least-outstanding' as const,
  }),
  queueMax: setting({
    env: 'QUEUE_MAX',
    flag: 'queue-max',
    description: 'Requests the gateway queue holds before answering 503',
    parse: parse.positiveInteger(),
    default: 256,
  }),
  queueMaxBytes: setting({
    env: 'QUEUE_MAX_BYTES',
    flag: 'queue-max-bytes',
    description:
      'Request bytes the gateway queue holds, bodies still arriving included (reserved at admission from Content-Length), before answering 503',
    parse: parse.positiveInteger(),
    default: 64 * 1024 * 1024,
  }),
  maxReceivingBytes: setting({
    env: 'MAX_RECEIVING_BYTES',
    flag: 'max-receiving-bytes',
    description:
      'Bytes of request bodies being received at once (counted from Content-Length, or as chunked bodies arrive); beyond it 503 before the body is read',
    parse: parse.positiveInteger(),
    default: 32 * 1024 * 1024,
  }),
  maxConnections: setting({
    env: 'MAX_CONNECTIONS',
    flag: 'max-connections',
    description: 'Client connections held at once; one more is closed as it opens',
    parse: parse.positiveInteger(1_000_000),
    default: 4096,
  }),
  lowPriorityShare: setting({
    env: 'LOW_PRIORITY_SHARE',
    flag: 'low-priority-share',
    description: 'Share of the queue that X-Priority: low requests may fill',
    parse: parse.number({ min: 0, max: 1 }),
    default: 0.5,
  }),
  lowPriorityReservedSlots: setting({
    env: 'LOW_PRIORITY_RESERVED_SLOTS',
    flag: 'low-priority-reserved-slots',
    description:
      'Replica slots that low-priority (batch) work leaves free for interactive requests (at most all slots but one)',
    parse: parse.integer({ min: 0, max: 10_000 }),
    default: 1,
  }),
  defaultTimeoutMs: setting({
    env: 'DEFAULT_TIMEOUT_MS',
    flag: 'default-timeout-ms',
    description: 'Deadline for requests without X-Timeout-Ms (admission judges them by SLO_MS)',
    parse: parse.positiveInteger(3_600_000),
    default: 10_000,
  }),
}

/** When a failed attempt is retried on another replica, and how long a replica may overrun a deadline. */
export const retrySettings = {
  retryBudgetRatio: setting({
    env: 'RETRY_BUDGET_RATIO',
    flag: 'retry-budget-ratio',
    description: 'Retries allowed as a share of requests in the last RETRY_WINDOW_MS',
    parse: parse.number({ min: 0, max: 10 }),
    default: 0.2,
  }),
  retryWindowMs: setting({
    env: 'RETRY_WINDOW_MS',
    flag: 'retry-window-ms',
    description: 'Window of the retry budget',
    parse: parse.positiveInteger(),
    default: 10_000,
  }),
  retryMin: setting({
    env: 'RETRY_MIN',
    flag: 'retry-min',
    description: 'Retries always allowed per window, however quiet',
    parse: parse.integer({ min: 0 }),
    default: 3,
  }),
  deadlineGraceMs: setting({
    env: 'DEADLINE_GRACE_MS',
    flag: 'deadline-grace-ms',
    description: 'How long past a deadline a replica may take to answer before it counts as hung',
    parse: parse.integer({ min: 0 }),
    default: 250,
  }),
}

export type DispatchConfig = ConfigOf<typeof dispatchSettings>
export type RetryConfig = ConfigOf<typeof retrySettings>

export function queueLimits(config: DispatchConfig): QueueLimits {
  return {
    maxCount: config.queueMax,
    maxBytes: config.queueMaxBytes,
    maxReceivingBytes: config.maxReceivingBytes,
    lowPriorityShare: config.lowPriorityShare,
  }
}

export function dispatcherOptions(
  config: DispatchConfig & Pick<ReplicaSlotConfig, 'slotsWhenQueued'>,
): DispatcherOptions {
  return {
    maxInFlight: config.maxInFlight,
    slotsWhenQueued: config.slotsWhenQueued,
    lowPriorityReservedSlots: config.lowPriorityReservedSlots,
  }
}

export function retryBudgetOptions(config: RetryConfig): RetryBudgetOptions {
  return { ratio: config.retryBudgetRatio, windowMs: config.retryWindowMs, minRetries: config.retryMin }
}

/** `token`: the replica token as it is now (REPLICA_TOKEN_FILE), if there is one. */
export function forwardOptions(config: RetryConfig, token: (() => string | undefined) | undefined): ForwardOptions {
  return { graceMs: config.deadlineGraceMs, token }
}
