/** The settings of `npm run bench:upload-burst` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'

export const uploadBurstBenchSpec = {
  uploads: setting({
    env: 'BENCH_UPLOADS',
    flag: 'uploads',
    description: 'Concurrent uploads in the burst',
    parse: parse.integer({ min: 1, max: 5000 }),
    default: 200,
  }),
  uploadMiB: setting({
    env: 'BENCH_UPLOAD_MIB',
    flag: 'upload-mib',
    description: 'Size of each upload, MiB',
    parse: parse.number({ min: 0.01, max: 100 }),
    default: 10,
  }),
  chunkedShare: setting({
    env: 'BENCH_CHUNKED_SHARE',
    flag: 'chunked-share',
    description: 'Share of the uploads sent chunked (no Content-Length)',
    parse: parse.number({ min: 0, max: 1 }),
    default: 0.1,
  }),
  goodEveryMs: setting({
    env: 'BENCH_GOOD_EVERY_MS',
    flag: 'good-every-ms',
    description: 'A small good request every this many ms, from another client, during the burst',
    parse: parse.integer({ min: 5, max: 10_000 }),
    default: 50,
  }),
  baseline: setting<string | undefined>({
    env: 'BENCH_BASELINE',
    flag: 'baseline',
    description: "Another checkout whose gateway to run (its gateway/src/main.ts), e.g. main's, for a before/after",
    parse: parse.string(),
    default: undefined,
  }),
}

export const uploadBurstBenchSummary =
  'Peak gateway RSS under a burst of concurrent large uploads (stub replicas), refusals, no_replica answers and\n' +
  'the outcomes of small good requests sent meanwhile by another client.'
