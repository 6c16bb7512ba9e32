/** The settings of `npm run tune`: the grids of the custom policy's knobs, and the scenarios they are tried on. */
import { parse, setting } from '../../common/config.ts'
import { familySettings } from './family-settings.ts'

const family = familySettings('TUNE')

export const tuneSpec = {
  startupS: family.startups('Replica start-ups to tune and judge at, seconds, comma-separated'),
  trendGains: setting({
    env: 'TUNE_TREND_GAINS',
    flag: 'trend-gains',
    description: 'Trend gains to try',
    parse: parse.list(parse.number({ min: 0, max: 10 })),
    default: [0, 0.5],
  }),
  tailShares: setting({
    env: 'TUNE_WAIT_TAIL_SHARES',
    flag: 'wait-tail-shares',
    description: 'M/G/c wait-tail shares to try (1: size at the utilisation alone)',
    parse: parse.list(parse.number({ min: 0.000001, max: 1 })),
    default: [0.01, 0.001],
  }),
  noiseZs: setting({
    env: 'TUNE_BURST_NOISE_Z',
    flag: 'burst-noise-z',
    description: 'Noise margins of the short window to try (standard deviations)',
    parse: parse.list(parse.number({ min: 0, max: 10 })),
    default: [0],
  }),
  utilisations: setting({
    env: 'TUNE_UTILISATIONS',
    flag: 'utilisations',
    description: 'Target utilisations to try (a ceiling when the wait-tail share is below 1)',
    parse: parse.list(parse.number({ min: 0.05, max: 1 })),
    default: [0.9],
  }),
  shortWindows: setting({
    env: 'TUNE_SHORT_WINDOWS_S',
    flag: 'short-windows-s',
    description: 'Short (burst) windows to try, seconds',
    parse: parse.list(parse.integer({ min: 1, max: 3600 })),
    default: [1, 3],
  }),
  longWindows: setting({
    env: 'TUNE_LONG_WINDOWS_S',
    flag: 'long-windows-s',
    description: 'Long (stable) windows to try, seconds',
    parse: parse.list(parse.integer({ min: 1, max: 3600 })),
    default: [20, 60],
  }),
  stabilisations: setting({
    env: 'TUNE_STABILIZATIONS_S',
    flag: 'stabilizations-s',
    description: 'Scale-down stabilisation windows to try, seconds',
    parse: parse.list(parse.integer({ min: 0, max: 3600 })),
    default: [15, 60],
  }),
  startupHolds: setting({
    env: 'TUNE_SCALE_DOWN_STARTUPS',
    flag: 'scale-down-startups',
    description: 'Scale-down holds to try, in measured start-ups (0: the stabilisation alone)',
    parse: parse.list(parse.number({ min: 0, max: 100 })),
    default: [0, 2],
  }),
  scales: family.scales(
    'Arrival-rate multipliers of the training workloads (few replicas and many behave differently)',
    [1, 10],
  ),
  workloadSeeds: family.seeds('Training workloads drawn per family', {
    defaultSeeds: 2,
    max: 100,
    name: 'WORKLOAD_SEEDS',
  }),
  seeds: family.seeds('Simulation seeds per training scenario', { defaultSeeds: 2, max: 100 }),
  judgeSeeds: family.seeds('Simulation seeds per judging scenario', { max: 100, name: 'JUDGE_SEEDS' }),
  out: family.out('out/tune', 'Output directory (tune.json)'),
}
