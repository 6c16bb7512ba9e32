import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { authSettings } from '../../common/auth/settings.ts'
import { type ConfigOf, type ConfigSource, parse, parseConfig, setting } from '../../common/config.ts'
import { serviceSettings } from '../../common/service-settings.ts'

const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../.cache/models', import.meta.url))
// Beside the repository in development and CI; in a container, mount models and set MODELS_DIR.
const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../../shared/models', import.meta.url))

export const replicaConfigSpec = {
  ...serviceSettings(8081, 'in-flight requests may take to finish'),
  ...authSettings({
    predictAuth: true,
    meaning: "(default: yes, a replica's clients are gateways, which present REPLICA_TOKEN_FILE)",
  }),
  replicaId: setting({
    env: 'REPLICA_ID',
    flag: 'replica-id',
    description: 'Name reported in responses and metrics (default: host name)',
    parse: parse.string(),
    default: hostname(),
  }),
  modelPath: setting<string | undefined>({
    env: 'MODEL_PATH',
    flag: 'model-path',
    description: 'ONNX file to serve instead of the provisioned ResNet18',
    parse: parse.string(),
    default: undefined,
  }),
  modelsDir: setting<string | undefined>({
    env: 'MODELS_DIR',
    flag: 'models-dir',
    description:
      'Folder of extra models, one sub-folder each (a *.manifest.json, or a TF.js model.json converted on first use); "none" for ResNet18 only',
    parse: (raw) => (raw === 'none' ? undefined : parse.string()(raw)),
    default: DEFAULT_MODELS_DIR,
  }),
  modelCacheDir: setting({
    env: 'MODEL_CACHE_DIR',
    flag: 'model-cache-dir',
    description: 'Where downloaded models are kept',
    parse: parse.string(),
    default: DEFAULT_CACHE_DIR,
  }),
  modelFetch: setting({
    env: 'MODEL_FETCH',
    flag: 'model-fetch',
    description: 'Download the pretrained ResNet18 at start-up when it is not cached',
    parse: parse.boolean(),
    default: false,
  }),
  modelSeed: setting({
    env: 'MODEL_SEED',
    flag: 'model-seed',
    description: 'Seed of the untrained offline ResNet18 weights',
    parse: parse.integer({ min: 0, max: 2 ** 32 - 1 }),
    default: 18,
  }),
  downloadTimeoutMs: setting({
    env: 'DOWNLOAD_TIMEOUT_MS',
    flag: 'download-timeout-ms',
    description: 'Give up a model download after this long',
    parse: parse.integer({ min: 1000 }),
    default: 600_000,
  }),
  optimizedModelCache: setting({
    env: 'OPTIMIZED_MODEL_CACHE',
    flag: 'optimized-model-cache',
    description:
      "Keep ONNX Runtime's optimised graph of each model in MODEL_CACHE_DIR/optimized and load it with optimisation off on later starts (shorter session creation)",
    parse: parse.boolean(),
    default: true,
  }),
  intraOpThreads: setting({
    env: 'INTRA_OP_THREADS',
    flag: 'intra-op-threads',
    description: 'onnxruntime threads per inference (one replica = one core by default)',
    parse: parse.integer({ min: 1, max: 256 }),
    default: 1,
  }),
  sharpConcurrency: setting({
    env: 'SHARP_CONCURRENCY',
    flag: 'sharp-concurrency',
    description: 'libvips threads per image being preprocessed (sharp.concurrency)',
    parse: parse.integer({ min: 1, max: 64 }),
    default: 1,
  }),
  preprocessSlots: setting({
    env: 'PREPROCESS_SLOTS',
    flag: 'preprocess-slots',
    description:
      "Images decoded at once (default 4: libuv's thread pool, where sharp runs them); the others wait in arrival order, and one whose client has gone or whose deadline has passed by its turn is dropped undecoded",
    parse: parse.integer({ min: 1, max: 256 }),
    default: 4,
  }),
  maxBatchSize: setting({
    env: 'MAX_BATCH_SIZE',
    flag: 'max-batch-size',
    description: 'Largest micro-batch sent to the model',
    parse: parse.integer({ min: 1, max: 256 }),
    default: 4,
  }),
  maxBatchWaitMs: setting({
    env: 'MAX_BATCH_WAIT_MS',
    flag: 'max-batch-wait-ms',
    description: 'How long an idle model waits to fill a batch',
    parse: parse.number({ min: 0, max: 1000 }),
    default: 0,
  }),
  maxQueue: setting({
    env: 'MAX_QUEUE',
    flag: 'max-queue',
    description: 'Requests admitted beyond the running batch before answering 503',
    parse: parse.integer({ min: 0, max: 100_000 }),
    default: 16,
  }),
  maxInflight: setting({
    env: 'MAX_INFLIGHT',
    flag: 'max-inflight',
    description:
      'Requests it holds at once, from all gateways together; one more is refused at once, before its body is read, with 503 replica_full (default 8: a running batch and the next one forming, above what one gateway sends with its default REPLICA_SLOTS 2)',
    parse: parse.integer({ min: 1, max: 100_000 }),
    default: 8,
  }),
  maxInputPixels: setting({
    env: 'MAX_INPUT_PIXELS',
    flag: 'max-input-pixels',
    description: 'Largest accepted image (width × height), against decompression bombs',
    parse: parse.integer({ min: 224 * 224 }),
    default: 40_000_000,
  }),
}

export type ReplicaConfig = ConfigOf<typeof replicaConfigSpec>

/** The settings that say where models come from: for the tools and benches that load models as a replica does. */
export const modelSourceSettings = {
  modelsDir: replicaConfigSpec.modelsDir,
  modelCacheDir: replicaConfigSpec.modelCacheDir,
  modelPath: replicaConfigSpec.modelPath,
  modelFetch: replicaConfigSpec.modelFetch,
  modelSeed: replicaConfigSpec.modelSeed,
  downloadTimeoutMs: replicaConfigSpec.downloadTimeoutMs,
}

export function loadReplicaConfig(source: ConfigSource): ReplicaConfig {
  return parseConfig(replicaConfigSpec, source)
}
