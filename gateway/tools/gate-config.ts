/** The settings of `npm run gate` (and its --help summary), importable without running the command. */
import { parse, setting } from '../../common/config.ts'
import { registryFileSetting } from '../../common/model-registry/settings.ts'
import { DEFAULT_GATE_THRESHOLDS } from '../src/gate/gate-rules.ts'

const required = (flag: string, description: string) =>
  setting<string | undefined>({
    env: `GATE_${flag.toUpperCase()}`,
    flag,
    description,
    parse: parse.string(),
    default: undefined,
  })

export const gateSpec = {
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

export const gateSummary =
  'npm run gate -- --model NAME --candidate V2 --baseline V1 [--dataset imagenet-sample] [--limit N]\n' +
  "evaluates both versions through the gateway's batch jobs and passes the candidate when its top-1 accuracy is at\n" +
  'most 1 point lower and its p95 latency at most 10 % higher; records the verdict for `npm run models -- promote`.'
