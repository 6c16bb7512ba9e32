/**
 * `npm run model:fetch`: downloads the pretrained ResNet18 into the model cache, verifying its sha256.
 * Replicas started afterwards find it there and serve real predictions.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { configFromCommandLine } from '../../common/command-line.ts'
import { downloadVerified } from '../src/model/download.ts'
import { PRETRAINED_RESNET18 } from '../src/model/pretrained.ts'
import { modelFetchSpec, modelFetchSummary } from './model-fetch-config.ts'

const config = configFromCommandLine('model:fetch', modelFetchSpec, undefined, modelFetchSummary)

const destination = join(config.modelCacheDir, PRETRAINED_RESNET18.fileName)
if (existsSync(destination)) {
  console.log(`already cached: ${destination}`)
  process.exit(0)
}
console.log(`downloading ${PRETRAINED_RESNET18.url}\n         to ${destination}`)
let lastPercent = -1
try {
  await downloadVerified({
    url: PRETRAINED_RESNET18.url,
    sha256: PRETRAINED_RESNET18.sha256,
    destination,
    timeoutMs: config.downloadTimeoutMs,
    onProgress: (received) => {
      const percent = Math.floor((100 * received) / PRETRAINED_RESNET18.sizeBytes)
      if (percent >= lastPercent + 10) {
        lastPercent = percent
        process.stdout.write(`  ${percent}%\n`)
      }
    },
  })
  console.log(`ok: sha256 ${PRETRAINED_RESNET18.sha256} verified`)
} catch (error) {
  console.error(`model:fetch failed: ${(error as Error).message}`)
  console.error('Without it, replicas serve the untrained offline ResNet18 (pretrained: false).')
  process.exit(1)
}
