/**
 * `npm run gate -- --model NAME --candidate V2 --baseline V1 [--dataset imagenet-sample]`: the regression gate. Both
 * versions are evaluated through a running gateway's batch jobs; a PASS/FAIL table per rule is printed, the verdict is
 * recorded in the registry state (so `npm run models -- promote` refuses a failed candidate), and the exit code is
 * 0 (pass) or 1 (fail, or the evaluation could not be made).
 */
import { readFileSync } from 'node:fs'
import { configFromCommandLine, dataOrExit } from '../../common/command-line.ts'
import { ConfigError, type ConfigSource, MissingDataError, parse, parseConfig, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { BatchClientError } from '../src/batch/batch-client.ts'
import { DEFAULT_GATE_THRESHOLDS } from '../src/gate/gate-rules.ts'
import { GateError, gateTable, runGate } from '../src/gate/run-gate.ts'

const required = (flag: string, description: string) =>
  setting<string | undefined>({
    env: `GATE_${flag.toUpperCase()}`,
    flag,
    description,
    parse: parse.string(),
    default: undefined,
  })

const gateSpec = {
  model: required('model', 'The model NAME'),
  candidate: required('candidate', 'The version to judge'),
  baseline: required('baseline', 'The version it must be no worse than (usually the production one)'),
  dataset: setting({
    env: 'GATE_DATASET',
    flag: 'dataset',
    description: 'The dataset both are evaluated on (see GET /datasets)',
    parse: parse.string(),
    default: 'imagenet-sample',
  }),
  limit: setting<number | undefined>({
    env: 'GATE_LIMIT',
    flag: 'limit',
    description: "Evaluate only the dataset's first N images (default: all)",
    parse: parse.integer({ min: 1, max: 10_000_000 }),
    default: undefined,
  }),
  gateway: setting({
    env: 'GATE_GATEWAY',
    flag: 'gateway',
    description: 'The gateway that runs the batch jobs',
    parse: parse.httpUrl(),
    default: 'http://127.0.0.1:8080',
  }),
  maxAccuracyDrop: setting({
    env: 'GATE_MAX_ACCURACY_DROP',
    flag: 'max-accuracy-drop',
    description: 'Largest drop of top-1 accuracy allowed, as a share (0.01 = 1 point)',
    parse: parse.number({ min: 0, max: 1 }),
    default: DEFAULT_GATE_THRESHOLDS.maxAccuracyDrop,
  }),
  maxP95Increase: setting({
    env: 'GATE_MAX_P95_INCREASE',
    flag: 'max-p95-increase',
    description: "Largest growth of p95 latency allowed, as a share of the baseline's (0.1 = +10 %)",
    parse: parse.number({ min: 0, max: 100 }),
    default: DEFAULT_GATE_THRESHOLDS.maxP95Increase,
  }),
  reuse: setting({
    env: 'GATE_REUSE',
    flag: 'reuse',
    description:
      'true: use the newest stored results of both versions on this dataset when there are, instead of evaluating again',
    parse: parse.boolean(),
    default: false,
  }),
  tokenFile: setting<string | undefined>({
    env: 'GATE_TOKEN_FILE',
    flag: 'token-file',
    description: 'A file holding a batch (or admin) token, for a gateway with a TOKENS_FILE',
    parse: parse.string(),
    default: undefined,
  }),
  modelRegistryFile: registryFileSetting(),
}

function readGateConfig(source: ConfigSource) {
  const config = parseConfig(gateSpec, source)
  for (const key of ['model', 'candidate', 'baseline'] as const) {
    if (config[key] === undefined) throw new ConfigError(key, `--${key} is required`)
  }
  if (config.candidate === config.baseline)
    throw new ConfigError('candidate', 'the candidate and the baseline are the same version')
  return { ...config, model: config.model!, candidate: config.candidate!, baseline: config.baseline! }
}

const config = configFromCommandLine(
  'gate',
  gateSpec,
  readGateConfig,
  'npm run gate -- --model NAME --candidate V2 --baseline V1 [--dataset imagenet-sample] [--limit N]\n' +
    "evaluates both versions through the gateway's batch jobs and passes the candidate when its top-1 accuracy is at\n" +
    'most 1 point lower and its p95 latency at most 10 % higher; records the verdict for `npm run models -- promote`.',
)

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (error) {
    throw new MissingDataError(`GATE_TOKEN_FILE ${file}: ${(error as Error).message}`)
  }
}

const progress = new Map<string, number>()
try {
  const outcome = await runGate({
    gatewayUrl: config.gateway.replace(/\/$/, ''),
    model: config.model,
    baseline: config.baseline,
    candidate: config.candidate,
    dataset: config.dataset,
    limit: config.limit,
    thresholds: { maxAccuracyDrop: config.maxAccuracyDrop, maxP95Increase: config.maxP95Increase },
    reuse: config.reuse,
    registryFile: config.modelRegistryFile,
    token: config.tokenFile === undefined ? undefined : dataOrExit(() => readToken(config.tokenFile!)),
    onProgress: (version, job) => {
      const percent = Math.floor(job.progress.fraction * 10) * 10
      if (percent === progress.get(version)) return
      progress.set(version, percent)
      console.error(`${config.model}@${version}: ${job.status} ${job.progress.done}/${job.progress.total}`)
    },
  })
  console.log(gateTable(outcome, { baseline: config.baseline, candidate: config.candidate }))
  console.log(
    `\n${config.model} ${config.candidate}: ${outcome.pass ? 'PASS' : 'FAIL'} (recorded in ${config.modelRegistryFile})`,
  )
  process.exit(outcome.pass ? 0 : 1)
} catch (error) {
  if (
    error instanceof GateError ||
    error instanceof BatchClientError ||
    (error as { code?: string }).code === 'ECONNREFUSED'
  ) {
    console.error(`gate: ${(error as Error).message}`)
    process.exit(1)
  }
  throw error
}
