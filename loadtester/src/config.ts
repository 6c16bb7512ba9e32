import { type ConfigOf, type ConfigSource, parse, parseConfig, setting } from '../../common/config.ts'
import { parseTarget } from './target.ts'

export const loadConfigSpec = {
  target: setting({
    env: 'LOAD_TARGET',
    flag: 'target',
    description:
      'Gateway or replica URL (POST /predict), or the endpoint itself, e.g. http://host:8080/add_to_queue (query kept)',
    parse: (raw) => parseTarget(raw).href,
    default: 'http://127.0.0.1:8080',
  }),
  workload: setting({
    env: 'LOAD_WORKLOAD',
    flag: 'workload',
    description: 'Workload file: requests per second, whitespace-separated',
    parse: parse.string(),
    default: 'workload/workload.txt',
  }),
  scale: setting({
    env: 'LOAD_SCALE',
    flag: 'scale',
    description: 'Multiply every rate by this',
    // 0 would send nothing.
    parse: parse.number({ above: 0, max: 10_000 }),
    default: 1,
  }),
  duration: setting<number | undefined>({
    env: 'LOAD_DURATION',
    flag: 'duration',
    description: 'Stop after this many seconds of the workload',
    parse: parse.integer({ min: 1 }),
    default: undefined,
  }),
  arrival: setting({
    env: 'LOAD_ARRIVAL',
    flag: 'arrival',
    description: 'Arrivals within each second: poisson, uniform or burst',
    parse: parse.oneOf(['poisson', 'uniform', 'burst']),
    default: 'poisson' as const,
  }),
  images: setting<string | undefined>({
    env: 'LOAD_IMAGES',
    flag: 'images',
    description: 'Directory of images to send (default ../shared/images/imagenet-sample, else bundled ones)',
    parse: parse.string(),
    default: undefined,
  }),
  seed: setting({
    env: 'LOAD_SEED',
    flag: 'seed',
    description: 'Seed of the arrival times',
    parse: parse.integer({ min: 0 }),
    default: 1,
  }),
  model: setting<string | undefined>({
    env: 'LOAD_MODEL',
    flag: 'model',
    description: 'Model to ask for (sent as X-Model), e.g. darknet-tiny; default: the server default',
    parse: parse.string(),
    default: undefined,
  }),
  timeoutMs: setting({
    env: 'LOAD_TIMEOUT_MS',
    flag: 'timeout-ms',
    description: 'Give up waiting for an answer after this long',
    parse: parse.integer({ min: 1, max: 3_600_000 }),
    default: 10_000,
  }),
  sendDeadline: setting({
    env: 'LOAD_SEND_DEADLINE',
    flag: 'send-deadline',
    description:
      'Send --timeout-ms as X-Timeout-Ms: the gateway then admits a request if it expects to answer within it (default: like most clients, send none, and the gateway admits within its SLO)',
    parse: parse.boolean(),
    default: false,
  }),
  sloMs: setting({
    env: 'LOAD_SLO_MS',
    flag: 'slo-ms',
    description: 'Latency objective for SLO attainment and goodput',
    parse: parse.integer({ min: 1 }),
    default: 500,
  }),
  concurrencyCap: setting({
    env: 'LOAD_CONCURRENCY_CAP',
    flag: 'concurrency-cap',
    description: 'Safety bound on requests in flight (beyond it, due requests are recorded as not sent)',
    parse: parse.integer({ min: 1, max: 100_000 }),
    default: 1024,
  }),
  out: setting<string | undefined>({
    env: 'LOAD_OUT',
    flag: 'out',
    description: 'Output directory (default out/load-<time>)',
    parse: parse.string(),
    default: undefined,
  }),
  progress: setting({
    env: 'LOAD_PROGRESS',
    flag: 'progress',
    description: 'Show the progress bar (off: a line every 10 s)',
    parse: parse.boolean(),
    default: true,
  }),
}

export const loadSummary =
  'Replays a workload file open loop against the target and writes a report (summary.json, requests.csv, report.html).'

export type LoadConfig = ConfigOf<typeof loadConfigSpec>

export function loadLoadConfig(source: ConfigSource): LoadConfig {
  return parseConfig(loadConfigSpec, source)
}
