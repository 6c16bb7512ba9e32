/** The settings of `npm run bench:startup` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'

export const startupBenchSpec = {
  cores: setting({
    env: 'BENCH_CORES',
    flag: 'cores',
    description: "The pod's CPU limit, cores",
    parse: parse.number({ min: 0.05, max: 64 }),
    default: 0.6,
  }),
  bootCores: setting({
    env: 'BENCH_BOOT_CORES',
    flag: 'boot-cores',
    description: 'Boost limits to try while booting, cores (each a variant)',
    parse: parse.list(parse.number({ min: 0.05, max: 64 })),
    default: [1, 2],
  }),
  repeats: setting({
    env: 'BENCH_REPEATS',
    flag: 'repeats',
    description: 'Boots per variant',
    parse: parse.integer({ min: 1, max: 50 }),
    default: 3,
  }),
  cuts: setting({
    env: 'BENCH_CUTS',
    flag: 'cuts',
    description: 'Also boot with each cut off in turn (compile cache, optimised-model cache, untrained-model cache)',
    parse: parse.boolean(),
    default: true,
  }),
  baselineEntry: setting<string | undefined>({
    env: 'BENCH_BASELINE_ENTRY',
    flag: 'baseline-entry',
    description: "Another checkout's replica/src/main.ts, booted beside (spawn → ready and CPU only)",
    parse: parse.string(),
    default: undefined,
  }),
}

export const startupBenchSummary =
  'Boots one replica at a time under a cgroup CPU quota, with and without a start-up boost and with each start-up\n' +
  'cut off in turn, and prints where the start-up goes. Needs root and cgroup v1; writes out/bench/startup.json.'
