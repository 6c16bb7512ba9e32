/** The settings of `npm run bench:overload` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'
import { roundSettings } from './load-phase.ts'

export const overloadBenchSpec = {
  ...roundSettings('Capacity + overload pairs', { rounds: 4, seconds: 20 }),
  overload: setting({
    env: 'BENCH_OVERLOAD',
    flag: 'overload',
    description: 'Offered load in the overload phase, as a multiple of the measured capacity',
    parse: parse.number({ min: 1, max: 20 }),
    default: 2,
  }),
}

export const overloadBenchSummary =
  'Goodput within the SLO at 2x overload against capacity, interleaved on one stack (gateway + local replicas), the\n' +
  'load tester in its own process. Needs ../shared/images/imagenet-sample; writes out/bench/overload.json.'
