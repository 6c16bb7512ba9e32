/** The settings of `npm run simulate`. */
import { parse, setting } from '../../common/config.ts'
import { familySettings } from './family-settings.ts'

const family = familySettings('SIM')

export const simulateSpec = {
  workload: family.workload(),
  scales: family.scales('Arrival-rate multipliers to simulate, comma-separated', [1, 10, 100], 100_000),
  serviceTime: family.serviceTime(),
  startupS: family.startup('Replica start-up, decision to ready (default: the measured one in the service-time file)'),
  seeds: family.seeds('Also run seeds seed … seed + N − 1 and print the mean and range over them'),
  policies: family.policies('Policies to compare'),
  sloMs: family.sloMs(),
  standby: family.standby(
    "custom's warm standbys, promoted by an in-place resize: auto (sized from the bursts seen), off, or a count (the gateway's STANDBY)",
  ),
  resizeDelayMs: family.resizeDelayMs(
    "From promoting a standby to its serving at full CPU (the kubelet's in-place resize)",
  ),
  standbyCores: family.standbyCores("A standby's CPU request while it waits, cores (counted in the requested cost)", 0),
  scaleToZero: setting({
    env: 'SIM_SCALE_TO_ZERO',
    flag: 'scale-to-zero',
    description:
      "custom may scale to zero (the gateway's MIN_REPLICAS=0): requests wait while a standby is promoted or a pod starts",
    parse: parse.boolean(),
    default: false,
  }),
  seed: setting({
    env: 'SIM_SEED',
    flag: 'seed',
    description: 'Seed of the arrivals and service times',
    parse: parse.integer({ min: 0 }),
    default: 1,
  }),
  brownout: setting<number | undefined>({
    env: 'SIM_BROWNOUT',
    flag: 'brownout',
    description:
      "Brownout for the custom policy: a fallback whose service time is this share of the model's (e.g. 0.4) answers what the model would not in time; unset: off",
    parse: parse.number({ min: 0.01, max: 1 }),
    default: undefined,
  }),
  out: family.out('out/simulate'),
}
