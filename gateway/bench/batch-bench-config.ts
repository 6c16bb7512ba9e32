/** The settings of `npm run bench:batch` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'
import { roundSettings } from './load-phase.ts'

export const batchBenchSpec = {
  ...roundSettings('Rounds of (alone, with batch, batch only)', { rounds: 3, seconds: 20 }),
  load: setting({
    env: 'BENCH_LOAD',
    flag: 'load',
    description: 'Interactive load as a share of the measured capacity',
    parse: parse.number({ min: 0.05, max: 1 }),
    default: 0.5,
  }),
  model: setting({
    env: 'BENCH_MODEL',
    flag: 'model',
    description: 'Model of both the interactive requests and the batch job',
    parse: parse.string(),
    default: 'darknet-tiny',
  }),
  batchConcurrency: setting({
    env: 'BATCH_CONCURRENCY',
    flag: 'batch-concurrency',
    description: "The gateway's BATCH_CONCURRENCY (default: the gateway's own)",
    parse: parse.integer({ min: 1, max: 256 }),
    default: 0,
  }),
  reservedSlots: setting({
    env: 'LOW_PRIORITY_RESERVED_SLOTS',
    flag: 'low-priority-reserved-slots',
    description: "The gateway's LOW_PRIORITY_RESERVED_SLOTS (default: the gateway's own)",
    parse: parse.integer({ min: -1, max: 256 }),
    default: -1,
  }),
}

export const batchBenchSummary =
  'Interactive p99 at 50 % load with and without a batch job running, and batch images/s with and without\n' +
  'interactive load, interleaved rounds on one stack. Needs ../shared/images/imagenet-sample; writes\n' +
  'out/bench/batch.json.'
