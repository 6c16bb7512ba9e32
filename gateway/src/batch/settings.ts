import { fileURLToPath } from 'node:url'
import { type ConfigOf, parse, setting } from '../../../common/config.ts'
import type { BatchSettings } from './batch-jobs.ts'

// Beside the repository in development and CI, like the replicas' MODELS_DIR; in a container, mount them and set these.
const DEFAULT_DATASETS_DIR = fileURLToPath(new URL('../../../../shared/images', import.meta.url))
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../data', import.meta.url))

/** Batch evaluation jobs: where they are kept, where their datasets are, and how much of the gateway they take. */
export const batchSettings = {
  dataDir: setting({
    env: 'DATA_DIR',
    flag: 'data-dir',
    description: 'Where the gateway keeps state that must survive a restart (batch jobs: batch.sqlite)',
    parse: parse.string(),
    default: DEFAULT_DATA_DIR,
  }),
  datasetsDir: setting({
    env: 'DATASETS_DIR',
    flag: 'datasets-dir',
    description: 'Batch datasets: each sub-folder of images is one dataset, named by the folder',
    parse: parse.string(),
    default: DEFAULT_DATASETS_DIR,
  }),
  batchConcurrency: setting({
    env: 'BATCH_CONCURRENCY',
    flag: 'batch-concurrency',
    description:
      'Images of a batch job in the queue or in flight at once (low-priority lane; also capped by its share of the queue)',
    parse: parse.positiveInteger(256),
    default: 2,
  }),
  batchImageTimeoutMs: setting({
    env: 'BATCH_IMAGE_TIMEOUT_MS',
    flag: 'batch-image-timeout-ms',
    description: 'Deadline of one batch image, queue included (batch work waits behind interactive requests)',
    parse: parse.positiveInteger(3_600_000),
    default: 60_000,
  }),
  batchStallTimeoutMs: setting({
    env: 'BATCH_STALL_TIMEOUT_MS',
    flag: 'batch-stall-timeout-ms',
    description: 'A running batch job that completes no image for this long (e.g. no replica serves its model) fails',
    parse: parse.positiveInteger(),
    default: 120_000,
  }),
  batchMaxActiveJobs: setting({
    env: 'BATCH_MAX_ACTIVE_JOBS',
    flag: 'batch-max-active-jobs',
    description:
      'Batch jobs queued or running at once per token (all clients together without TOKENS_FILE); one more is 429 too_many_jobs',
    parse: parse.positiveInteger(100_000),
    default: 8,
  }),
  batchKeepFinished: setting({
    env: 'BATCH_KEEP_FINISHED',
    flag: 'batch-keep-finished',
    description: 'Finished batch jobs kept (the newest); older ones are deleted with their results',
    parse: parse.positiveInteger(10_000_000),
    default: 1000,
  }),
  batchKeepFinishedS: setting({
    env: 'BATCH_KEEP_FINISHED_S',
    flag: 'batch-keep-finished-s',
    description: 'Finished batch jobs are deleted, with their results, this many seconds after they ended',
    parse: parse.positiveInteger(10 * 365 * 86_400),
    default: 30 * 86_400,
  }),
}

export type BatchConfig = ConfigOf<typeof batchSettings>

export function batchJobSettings(config: BatchConfig): BatchSettings {
  return {
    concurrency: config.batchConcurrency,
    imageTimeoutMs: config.batchImageTimeoutMs,
    stallTimeoutMs: config.batchStallTimeoutMs,
    maxActiveJobs: config.batchMaxActiveJobs,
    retention: { keep: config.batchKeepFinished, maxAgeMs: config.batchKeepFinishedS * 1000 },
  }
}
