import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

test('a batch job no replica can serve waits for one, then fails with the reason once it stalls', async () => {
  const stub = await StubReplica.start({ ready: false, models: [{ name: 'stub', version: '1' }] })
  const root = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
  mkdirSync(join(root, 'tiny'))
  writeFileSync(join(root, 'tiny', 'n00000001_stub.jpg'), 'img')
  const gateway = await startTestGateway([
    ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'none'],
    ...['--datasets-dir', root, '--batch-stall-timeout-ms', '300'],
  ])
  try {
    // No replica is ready yet, so the model cannot be checked: the job is accepted and waits.
    const job = await gateway.batch.submit({ model: 'stub', dataset: 'tiny' })
    const ended = await gateway.batch.wait(job.id)
    assert.equal(ended.status, 'failed')
    assert.equal(ended.error?.code, 'no_replica')
    assert.match(ended.error!.message, /no image completed in 300 ms/)
    assert.equal(ended.results, null)
    assert.equal(stub.requests.length, 0)
  } finally {
    await gateway.shutdown(5000)
    await stub.close()
  }
})
