/**
 * The settings the simulator's commands share (simulate, tune, frontier, experiment): declared once here, each
 * command spreads in the ones it takes under its own environment prefix (SIM_, TUNE_, FRONTIER_, EXPERIMENT_).
 * Where commands mean the same setting a little differently (one start-up or a list of them, how many seeds by
 * default) the difference is an argument, so the parser and the flag stay one.
 */
import { parse, setting } from '../../common/config.ts'
import { parseStandbySetting } from '../../gateway/src/autoscale/standby-count.ts'
import { DEFAULT_STANDBY, DEFAULT_STANDBY_MODEL, POLICY_NAMES, SELECTABLE_POLICY_NAMES } from './compare.ts'
import { MEASURED_SERVICE_TIME } from './service-time.ts'

export const DEFAULT_WORKLOAD = 'workload/workload.txt'

export function familySettings(prefix: string) {
  const env = (name: string) => `${prefix}_${name}`
  return {
    workload: (description = 'Workload file') =>
      setting({
        env: env('WORKLOAD'),
        flag: 'workload',
        description,
        parse: parse.string(),
        default: DEFAULT_WORKLOAD,
      }),
    scales: (description: string, defaults: number[], max = 1000) =>
      setting({
        env: env('SCALES'),
        flag: 'scales',
        description,
        parse: parse.list(parse.number({ min: 0.001, max })),
        default: defaults,
      }),
    serviceTime: () =>
      setting({
        env: env('SERVICE_TIME'),
        flag: 'service-time',
        description: 'Measured service-time model (JSON)',
        parse: parse.string(),
        default: MEASURED_SERVICE_TIME,
      }),
    /** One start-up, or (unset) the measured one in the service-time file. */
    startup: (description: string) =>
      setting<number | undefined>({
        env: env('STARTUP_S'),
        flag: 'startup-s',
        description,
        parse: parse.number({ min: 0, max: 3600 }),
        default: undefined,
      }),
    /** The start-ups a sweep runs at: fast, a typical pod, a slow one. */
    startups: (description: string) =>
      setting({
        env: env('STARTUP_S'),
        flag: 'startup-s',
        description,
        parse: parse.list(parse.number({ min: 0, max: 3600 })),
        default: [1.4, 10, 30],
      }),
    seeds: (description: string, { defaultSeeds = 5, max = 1000, name = 'SEEDS' } = {}) =>
      setting({
        env: env(name),
        flag: name.toLowerCase().replaceAll('_', '-'),
        description,
        parse: parse.integer({ min: 1, max }),
        default: defaultSeeds,
      }),
    policies: (description: string) =>
      setting({
        env: env('POLICIES'),
        flag: 'policies',
        description: `${description}: ${SELECTABLE_POLICY_NAMES.join(', ')}`,
        parse: parse.list(parse.oneOf(SELECTABLE_POLICY_NAMES)),
        default: [...POLICY_NAMES],
      }),
    sloMs: () =>
      setting({
        env: env('SLO_MS'),
        flag: 'slo-ms',
        description: 'Latency objective',
        parse: parse.integer({ min: 1 }),
        default: 500,
      }),
    standby: (description: string) =>
      setting({
        env: env('STANDBY'),
        flag: 'standby',
        description,
        parse: parseStandbySetting,
        default: DEFAULT_STANDBY,
      }),
    standbyCores: (description: string, min: number) =>
      setting({
        env: env('STANDBY_CORES'),
        flag: 'standby-cores',
        description,
        parse: parse.number({ min, max: 64 }),
        default: DEFAULT_STANDBY_MODEL.standbyCores,
      }),
    resizeDelayMs: (description: string) =>
      setting({
        env: env('RESIZE_DELAY_MS'),
        flag: 'resize-delay-ms',
        description,
        parse: parse.integer({ min: 0, max: 600_000 }),
        default: DEFAULT_STANDBY_MODEL.resizeDelayMs,
      }),
    out: (defaultDir: string, description = 'Output directory') =>
      setting({ env: env('OUT'), flag: 'out', description, parse: parse.string(), default: defaultDir }),
  }
}
