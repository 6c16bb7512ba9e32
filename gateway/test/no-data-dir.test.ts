import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postImage, postJson } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { type ServiceProcess, spawnService } from '../../common/service-process.ts'
import type { RunningReplica } from '../../replica/src/replica.ts'
import { startTestReplica } from '../../replica/test/helpers.ts'

/**
 * What a read-only root filesystem without a data volume does to the gateway (`podman run --read-only`, Kubernetes'
 * readOnlyRootFilesystem): DATA_DIR cannot be created. Tests run as root, which ignores permission bits, so the
 * directory is put under a regular file instead: mkdir fails (ENOTDIR) for anyone.
 */
describe('a gateway whose DATA_DIR cannot be written', () => {
  let replica: RunningReplica
  let gateway: ServiceProcess
  const logs: string[] = []
  let dataDir: string

  before(async () => {
    replica = await startTestReplica()
    const root = mkdtempSync(join(tmpdir(), 'switchyard-unwritable-'))
    writeFileSync(join(root, 'a-file'), 'not a directory')
    dataDir = join(root, 'a-file', 'data')
    gateway = await spawnService('gateway', {
      args: [
        ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'],
        ...['--data-dir', dataDir, '--log-format', 'json', '--health-interval-ms', '100'],
        ...['--model-registry-file', join(root, 'no-registry', 'models.json')],
      ],
      onLog: (line) => logs.push(line),
    })
    await untilOk(`${gateway.url}/readyz`, 'gateway')
  })
  after(async () => {
    gateway?.child.kill('SIGTERM')
    await gateway?.exited
    await replica?.shutdown(5000)
  })

  test('serves predictions', async () => {
    const response = await postImage(`${gateway.url}/predict`, someSampleImages(1)[0]!.bytes())
    assert.equal(response.status, 200, JSON.stringify(response.body))
    assert.match(response.body.prediction, /^.+: \d{1,3}\.\d{2}%$/)
  })

  test('batch routes answer 503 batch_disabled, saying how to enable them, without revealing the path', async () => {
    const answers = [
      await postJson(`${gateway.url}/batch`, { model: 'resnet18', dataset: 'imagenet-sample' }),
      await call(`${gateway.url}/batch`),
      await call(`${gateway.url}/batch/0f8fad5b-d9cb-469f-a165-70867728950e`),
      await call(`${gateway.url}/batch/0f8fad5b-d9cb-469f-a165-70867728950e`, { method: 'DELETE' }),
    ]
    for (const response of answers) {
      assert.equal(response.status, 503, JSON.stringify(response.body))
      assert.equal(errorCode(response), 'batch_disabled')
      assert.match(response.body.error, /set DATA_DIR to a writable directory/)
      assert.ok(!response.body.error.includes(dataDir))
    }
  })

  test('one log line names DATA_DIR and how to enable batch jobs; no stack trace anywhere', () => {
    const disabled = logs.filter((line) => line.includes('batch jobs disabled'))
    assert.equal(disabled.length, 1, logs.join('\n'))
    const entry = JSON.parse(disabled[0]!)
    assert.equal(entry.level, 40, 'a warning')
    assert.match(entry.msg, /DATA_DIR .*a-file\/data.*set DATA_DIR to a writable directory/)
    for (const line of logs) assert.doesNotMatch(line, /"stack"|\\n\s+at /, line)
  })
})
