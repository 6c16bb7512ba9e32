import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import { registryFileSetting } from '../../../common/model-registry/settings.ts'
import type { RollbackRule } from '../canary/rollback-rule.ts'

/** Model versions at the gateway: the registry state it follows, brownout to fallbacks, and when a canary is rolled back. */
export const versionSettings = {
  modelRegistryFile: registryFileSetting(),
  registryPollMs: setting({
    env: 'MODEL_REGISTRY_POLL_MS',
    flag: 'model-registry-poll-ms',
    description: 'Also re-read the registry file this often (file events can be missed)',
    parse: parse.positiveInteger(),
    default: 2000,
  }),
  brownout: setting({
    env: 'BROWNOUT',
    flag: 'brownout',
    description:
      'on: a request a model would not answer in time is answered by its fallback (set with `npm run models -- fallback`) when that would be, marked degraded; off: refused as without one. Nothing changes for a model without a fallback',
    parse: parse.oneOf(['on', 'off']),
    default: 'on' as const,
  }),
  canaryWindowS: setting({
    env: 'CANARY_WINDOW_S',
    flag: 'canary-window-s',
    description: 'Sliding window over which a canary is compared with production (and the live panel counts versions)',
    parse: parse.positiveInteger(3600),
    default: 300,
  }),
  canaryMinSamples: setting({
    env: 'CANARY_MIN_SAMPLES',
    flag: 'canary-min-samples',
    description: 'Requests each of candidate and production needs in the window before a canary can be rolled back',
    parse: parse.positiveInteger(1_000_000),
    default: 50,
  }),
  canaryMaxErrorRateIncrease: setting({
    env: 'CANARY_MAX_ERROR_RATE_INCREASE',
    flag: 'canary-max-error-rate-increase',
    description: "Roll back when the candidate's error rate exceeds production's by more than this share",
    parse: parse.number({ min: 0, max: 1 }),
    default: 0.01,
  }),
  canaryMaxP95Increase: setting({
    env: 'CANARY_MAX_P95_INCREASE',
    flag: 'canary-max-p95-increase',
    description: "Roll back when the candidate's p95 exceeds production's by more than this share (the gate's +10 %) …",
    parse: parse.number({ min: 0, max: 100 }),
    default: 0.1,
  }),
  canaryP95SlackMs: setting({
    env: 'CANARY_P95_SLACK_MS',
    flag: 'canary-p95-slack-ms',
    description: '… plus this many ms (timer jitter on fast models is not a regression)',
    parse: parse.number({ min: 0, max: 60_000 }),
    default: 5,
  }),
}

export type VersionConfig = ConfigOf<typeof versionSettings>

/** The canary rule's thresholds; their defaults are these settings' defaults (there are no others). */
export function rollbackRule(config: VersionConfig): RollbackRule {
  return {
    minSamples: config.canaryMinSamples,
    maxErrorRateIncrease: config.canaryMaxErrorRateIncrease,
    maxP95Increase: config.canaryMaxP95Increase,
    p95SlackMs: config.canaryP95SlackMs,
  }
}
