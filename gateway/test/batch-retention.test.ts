import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { call, postJson } from '../../common/http/call.ts'
import { jobsToPrune, quotaRefusal } from '../src/batch/batch-retention.ts'
import { BatchStore } from '../src/batch/batch-store.ts'
import { freshDataDir, routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const DAY = 86_400_000

describe('batch retention and quota (pure policies)', () => {
  test('jobsToPrune: keeps at most `keep`, the newest, none older than the maximum age (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.uuid(), finishedAtMs: fc.integer({ min: 0, max: 100 * DAY }) }), {
          selector: (j) => j.id,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 60 * DAY }),
        fc.integer({ min: 0, max: 120 * DAY }),
        (finished, keep, maxAgeMs, now) => {
          const pruned = new Set(jobsToPrune(finished, now, { keep, maxAgeMs }))
          const kept = finished.filter((j) => !pruned.has(j.id))
          assert.ok(
            [...pruned].every((id) => finished.some((j) => j.id === id)),
            'only jobs it was given',
          )
          assert.ok(kept.length <= keep)
          assert.ok(kept.every((j) => now - j.finishedAtMs <= maxAgeMs))
          // Nothing young enough was dropped while an older one stayed.
          for (const gone of finished.filter((j) => pruned.has(j.id) && now - j.finishedAtMs <= maxAgeMs))
            assert.ok(kept.every((j) => j.finishedAtMs >= gone.finishedAtMs))
          // Below the count and within the age, nothing goes.
          if (finished.length <= keep && finished.every((j) => now - j.finishedAtMs <= maxAgeMs))
            assert.equal(pruned.size, 0)
        },
      ),
    )
  })

  test('jobsToPrune: examples', () => {
    const jobs = [
      { id: 'old', finishedAtMs: 0 },
      { id: 'mid', finishedAtMs: 5 * DAY },
      { id: 'new', finishedAtMs: 9 * DAY },
    ]
    assert.deepEqual(jobsToPrune(jobs, 10 * DAY, { keep: 2, maxAgeMs: 30 * DAY }), ['old'])
    assert.deepEqual(jobsToPrune(jobs, 10 * DAY, { keep: 10, maxAgeMs: 7 * DAY }), ['old'])
    assert.deepEqual(jobsToPrune(jobs, 10 * DAY, { keep: 10, maxAgeMs: 2 * DAY }).sort(), ['mid', 'old'])
    assert.deepEqual(jobsToPrune([], 0, { keep: 1, maxAgeMs: 1 }), [])
  })

  test('quotaRefusal: below the quota nothing; at it a message naming the setting', () => {
    assert.equal(quotaRefusal(0, 1), undefined)
    assert.equal(quotaRefusal(7, 8), undefined)
    assert.match(quotaRefusal(8, 8) ?? '', /at most 8: BATCH_MAX_ACTIVE_JOBS/)
  })
})

describe('batch retention in the store and over HTTP', () => {
  test('the store deletes finished jobs with their image outcomes, never a queued or running one; owners are counted apart', () => {
    const store = new BatchStore(freshDataDir())
    try {
      const job = (id: string, owner?: string) => ({
        id,
        model: 'm',
        dataset: 'd',
        limit: null,
        images: ['a.jpg'],
        createdAt: new Date(0).toISOString(),
        ...(owner && { owner }),
      })
      store.insert(job('done', 'alice'))
      store.insert(job('queued', 'alice'))
      store.insert(job('legacy'))
      const run = store.beginRun('done', new Date(0).toISOString())
      store.recordItem('done', run, { image: 'a.jpg', truth: undefined, ok: false, errorCode: 'x' }, 1)
      store.finish('done', { status: 'cancelled' }, new Date(1000).toISOString())
      assert.equal(store.activeCount('alice'), 1)
      assert.equal(store.activeCount('anonymous'), 1)
      assert.deepEqual(store.finishedJobs(), [{ id: 'done', finishedAt: new Date(1000).toISOString() }])
      assert.equal(store.deleteFinished(['done', 'queued']), 1)
      assert.equal(store.get('done'), undefined)
      assert.equal(store.progress('done').done, 0, 'its image outcomes went with it')
      assert.equal(store.get('queued')?.status, 'queued')
      assert.deepEqual(
        store.list(10, 'alice').map((j) => j.id),
        ['queued'],
      )
    } finally {
      store.close()
    }
  })

  test('a gateway keeping 1 finished job: after a second finishes, the first is gone (404) and the list holds one', async () => {
    const replica = await StubReplica.start({ models: [{ name: 'stub', version: '1' }] })
    const datasets = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
    mkdirSync(join(datasets, 'tiny'))
    writeFileSync(join(datasets, 'tiny', 'n00000001_stub.jpg'), 'img')
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'],
      ...['--datasets-dir', datasets, '--batch-keep-finished', '1'],
    ])
    try {
      await routable(gateway, 1)
      const spec = { model: 'stub', dataset: 'tiny' }
      const first = (await postJson(`${gateway.url}/batch`, spec)).body.id as string
      assert.equal((await gateway.batch.wait(first)).status, 'succeeded')
      assert.equal((await call(`${gateway.url}/batch/${first}`)).status, 200, 'kept while it is the newest')
      const second = (await postJson(`${gateway.url}/batch`, spec)).body.id as string
      assert.equal((await gateway.batch.wait(second)).status, 'succeeded')
      assert.equal((await call(`${gateway.url}/batch/${first}`)).status, 404)
      const listed = await call(`${gateway.url}/batch`)
      assert.deepEqual(
        listed.body.jobs.map((j: { id: string }) => j.id),
        [second],
      )
    } finally {
      await gateway.shutdown(2000)
      await replica.close()
    }
  })
})
