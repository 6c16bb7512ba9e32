/** The settings of `npm run experiment`. */
import { parse, setting } from '../../common/config.ts'
import { replicaConfigSpec } from '../../replica/src/config.ts'
import { familySettings } from '../../simulator/src/family-settings.ts'

const family = familySettings('EXPERIMENT')

export const experimentSpec = {
  workload: family.workload('Workload file (the canonical one, compressed and scaled to this machine)'),
  compress: setting({
    env: 'EXPERIMENT_COMPRESS',
    flag: 'compress',
    description: 'Seconds of the workload per second of the run (their mean rate)',
    parse: parse.integer({ min: 1, max: 100 }),
    default: 3,
  }),
  utilisationAtPeak: setting({
    env: 'EXPERIMENT_PEAK_UTILISATION',
    flag: 'peak-utilisation',
    description: 'Rates are scaled so the peak needs this share of --max-replicas at the calibrated service time',
    parse: parse.number({ min: 0.05, max: 2 }),
    default: 0.8,
  }),
  cores: setting({
    env: 'EXPERIMENT_CORES',
    flag: 'cores',
    description: 'CPU limit (= request) of each replica, cores',
    parse: parse.number({ min: 0.05, max: 64 }),
    default: 0.6,
  }),
  bootBoost: setting({
    env: 'EXPERIMENT_BOOT_BOOST',
    flag: 'boot-boost',
    description:
      "Start-up CPU boost (Kubernetes' in-place resize, kube-startup-cpu-boost): pods boot at --boot-cores and are lowered to --cores once ready",
    parse: parse.boolean(),
    default: true,
  }),
  bootCores: setting({
    env: 'EXPERIMENT_BOOT_CORES',
    flag: 'boot-cores',
    description: 'CPU limit of a booting pod with --boot-boost, cores',
    parse: parse.number({ min: 0.05, max: 64 }),
    default: 2,
  }),
  maxReplicas: setting({
    env: 'EXPERIMENT_MAX_REPLICAS',
    flag: 'max-replicas',
    description: 'Most replicas any policy may run (with --cores, within this machine beside gateway and load tester)',
    parse: parse.integer({ min: 1, max: 64 }),
    default: 3,
  }),
  provisioningS: setting({
    env: 'EXPERIMENT_PROVISIONING_S',
    flag: 'provisioning-s',
    description: 'Stand-in for scheduling and image pull: seconds a new pod waits before its process starts',
    parse: parse.number({ min: 0, max: 600 }),
    default: 10,
  }),
  standby: family.standby(
    "custom's warm standbys (the gateway's STANDBY): booted pods held at --standby-cores, not routed to, promoted by raising their cgroup quota — auto, off or a count",
  ),
  standbyCores: family.standbyCores("A waiting standby's CPU quota (its request), cores", 0.01),
  resizeDelayMs: family.resizeDelayMs(
    "Stand-in for the kubelet's in-place resize: from promoting a standby to its quota raised and its listing, ms",
  ),
  warmupS: setting({
    env: 'EXPERIMENT_WARMUP_S',
    flag: 'warmup-s',
    description:
      "Seconds at the workload's opening rate (its first 10 s's mean) played before it, unmeasured: every policy meets the workload from its own steady state, as a service already running would, not from one replica",
    parse: parse.integer({ min: 0, max: 3600 }),
    default: 30,
  }),
  repeats: setting({
    env: 'EXPERIMENT_REPEATS',
    flag: 'repeats',
    description: 'Real runs of custom and hpa-70 (the others run once)',
    parse: parse.integer({ min: 1, max: 20 }),
    default: 2,
  }),
  seeds: family.seeds('Simulated seeds behind each prediction'),
  policies: family.policies('Policies to run'),
  calibration: setting<string | undefined>({
    env: 'EXPERIMENT_CALIBRATION',
    flag: 'calibration',
    description: 'Reuse a calibration.json instead of measuring one',
    parse: parse.string(),
    default: undefined,
  }),
  sloMs: family.sloMs(),
  brownout: setting<string | undefined>({
    env: 'EXPERIMENT_BROWNOUT',
    flag: 'brownout',
    description:
      "Brownout for the custom policy: MODEL[@VERSION] (e.g. darknet-tiny) answers, degraded, what ResNet18 would not in time; set as its fallback in the run's registry state (the baselines run without). Unset: off",
    parse: parse.string(),
    default: undefined,
  }),
  brownoutServiceRatio: setting({
    env: 'EXPERIMENT_BROWNOUT_SERVICE_RATIO',
    flag: 'brownout-service-ratio',
    description:
      "With --brownout: the fallback's service time as a share of ResNet18's, for the simulator's prediction (the runs measure the real one)",
    parse: parse.number({ min: 0.01, max: 1 }),
    default: 0.5,
  }),
  modelsDir: replicaConfigSpec.modelsDir,
  out: family.out('out/experiment'),
}
