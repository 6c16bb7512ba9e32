import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { postImage } from '../../common/http/call.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { loadReplicaConfig } from '../src/config.ts'
import { PRETRAINED_RESNET18 } from '../src/model/pretrained.ts'
import { startTestReplica } from './helpers.ts'

const cached = join(loadReplicaConfig({ env: {}, argv: [] }).modelCacheDir, PRETRAINED_RESNET18.fileName)
const skip = existsSync(cached)
  ? false
  : `no pretrained ResNet18 at ${cached} (run \`npm run model:fetch\` online); the offline model is untrained`

test('pretrained ResNet18: top-1 ≥ 70 % over the 1,000 sample images', { skip }, async () => {
  const replica = await startTestReplica()
  try {
    const images = sampleImages()
    let correct = 0
    const concurrency = 8
    for (let i = 0; i < images.length; i += concurrency) {
      const chunk = images.slice(i, i + concurrency)
      const answers = await Promise.all(chunk.map((image) => postImage(`${replica.url}/predict`, image.bytes())))
      for (const [j, answer] of answers.entries()) {
        assert.equal(answer.status, 200)
        assert.equal(answer.body.model.pretrained, true)
        if (answer.body.class_index === chunk[j]!.classIndex) correct++
      }
    }
    const top1 = correct / images.length
    console.log(`pretrained ResNet18 top-1: ${(top1 * 100).toFixed(1)} %`)
    assert.ok(top1 >= 0.7, `top-1 ${top1}`)
  } finally {
    await replica.shutdown(5000)
  }
})
