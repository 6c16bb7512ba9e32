/**
 * One process of the bound measured by `npm run bench:e2e`: the replica's own pipeline (its model provisioning,
 * inference thread, micro-batcher and sharp preprocessing — `serveModel`, the code a replica runs per model) with no
 * HTTP in front, kept busy by `concurrency` predictions in flight over the sample images. Driven over IPC by
 * e2e-bench.ts: `setup` → `ready`, `go` → `done` with the completions counted inside the measured window.
 */
import pino from 'pino'
import { sampleImages } from '../../common/sample-images.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import { loadModelDefinitions } from '../../replica/src/model/registry.ts'
import { setPreprocessThreads } from '../../replica/src/preprocess.ts'
import { serveModel } from '../../replica/src/replica.ts'

export interface PipelineSetup {
  type: 'setup'
  intraOpThreads: number
  maxBatchSize: number
  sharpConcurrency: number
  /** Predictions in flight at once (what a replica holds when the gateway gives it that many slots). */
  concurrency: number
  /** Serve this version of ResNet18 from this models folder (an int8 one) instead of the provisioned one. */
  model?: { modelsDir: string; version: string }
}

export interface PipelineGo {
  type: 'go'
  /** Completions before this are not counted (JIT, first batches at this concurrency). */
  warmUpMs: number
  measureMs: number
}

export interface PipelineDone {
  type: 'done'
  images: number
  /** Mean batch size over the measured window: does the batcher batch at this concurrency? */
  meanBatch: number
}

if (!process.send) {
  console.error('pipeline-process runs under npm run bench:e2e (it needs its IPC channel)')
  process.exit(2)
}

const images = sampleImages().map((image) => image.bytes())
const logger = pino({ level: 'error' })

process.on('message', async (message: PipelineSetup | PipelineGo) => {
  if (message.type === 'setup') {
    setPreprocessThreads(message.sharpConcurrency)
    const config = loadReplicaConfig({
      env: {},
      argv: [
        '--models-dir',
        message.model?.modelsDir ?? 'none',
        '--intra-op-threads',
        String(message.intraOpThreads),
        '--max-batch-size',
        String(message.maxBatchSize),
      ],
    })
    const definitions = await loadModelDefinitions(config, logger)
    const wanted = message.model
    const definition = wanted
      ? definitions.find((d) => d.info.name === 'resnet18' && d.info.version === wanted.version)
      : definitions[0]
    if (!definition) throw new Error(`resnet18 ${wanted?.version} is not in ${wanted?.modelsDir}`)
    const served = await serveModel(definition!, config, logger)
    // The replica's warm-up: a full batch and a single one allocate the session's buffers.
    const item = new Float32Array(3 * definition!.preprocess.inputSize ** 2)
    await served.engine.run(Array.from({ length: served.maxBatchSize }, () => item))
    await served.engine.run([item])
    state = { predictor: served.predictor, concurrency: message.concurrency, close: () => served.engine.close() }
    process.send!({ type: 'ready' })
    return
  }
  if (message.type === 'go' && state) {
    const done = await run(state, message)
    process.send!(done, () => {
      void state?.close().then(() => process.exit(0))
    })
  }
})

let state:
  | { predictor: Awaited<ReturnType<typeof serveModel>>['predictor']; concurrency: number; close: () => Promise<void> }
  | undefined

async function run(
  { predictor, concurrency }: NonNullable<typeof state>,
  { warmUpMs, measureMs }: PipelineGo,
): Promise<PipelineDone> {
  const start = performance.now()
  const from = start + warmUpMs
  const until = from + measureMs
  let next = 0
  let counted = 0
  let batchSum = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const image = images[next++ % images.length]!
        const prediction = await predictor.predict(image, Number.POSITIVE_INFINITY)
        const now = performance.now()
        if (now >= from && now < until) {
          counted++
          batchSum += prediction.batchSize
        }
      }
    }),
  )
  return { type: 'done', images: counted, meanBatch: counted ? batchSum / counted : 0 }
}
