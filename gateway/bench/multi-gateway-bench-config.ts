/** The settings of `npm run bench:gateways` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'

export const multiGatewayBenchSpec = {
  runs: setting({
    env: 'BENCH_RUNS',
    flag: 'runs',
    description: 'Runs of the three set-ups (all shown)',
    parse: parse.integer({ min: 1, max: 20 }),
    default: 1,
  }),
  seconds: setting({
    env: 'BENCH_SECONDS',
    flag: 'seconds',
    description: 'Length of each phase',
    parse: parse.integer({ min: 5, max: 600 }),
    default: 30,
  }),
  load: setting({
    env: 'BENCH_LOAD',
    flag: 'load',
    description: "Offered load as a share of the pool's capacity",
    parse: parse.number({ min: 0.05, max: 1.5 }),
    default: 0.8,
  }),
  out: setting({
    env: 'BENCH_OUT',
    flag: 'out',
    description: 'Where the table (gateways.md) and the figures (gateways.json) go',
    parse: parse.string(),
    default: 'out/bench',
  }),
}

export const multiGatewayBenchSummary =
  'Two gateways over one replica pool (traffic split evenly) against one gateway taking it all, on stub replicas\n' +
  '(3 × 20 ms + 1 × 60 ms, one at a time each) at 80 % load; and two gateways without the replicas\' "full" refusal.\n' +
  'Needs the sample images (../shared/images/imagenet-sample) for the load tester; writes out/bench/gateways.md.'
