import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postJson } from '../../common/http/call.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

/** Answers of `count` DELETEs sent at once, as "status code" strings, sorted. */
async function concurrentDeletes(url: string, count: number): Promise<string[]> {
  const answers = await Promise.all(Array.from({ length: count }, () => call(url, { method: 'DELETE' })))
  return answers.map((a) => (a.status === 200 ? `200 ${a.body.status}` : `${a.status} ${errorCode(a)}`)).sort()
}

describe('batch job API: cancelling twice, and bodies of the wrong type', () => {
  let stub: StubReplica
  let gateway: RunningGateway
  let release: () => void

  before(async () => {
    stub = await StubReplica.start({ models: [{ name: 'stub', version: '1' }] })
    const root = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
    mkdirSync(join(root, 'tiny'))
    for (let i = 0; i < 4; i++) writeFileSync(join(root, 'tiny', `n0000000${i}_stub.jpg`), 'img')
    gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'none'],
      ...['--datasets-dir', root],
    ])
    await routable(gateway, 1)
  })
  after(async () => {
    release?.()
    await gateway.shutdown(5000)
    await stub.close()
  })

  test('20 DELETEs at once: the first cancels (200), the other 19 are 409 batch_finished, queued or running', async () => {
    // The stub holds every prediction: the first job stays running, the second queued behind it.
    release = stub.holdAnswers()
    const running = await postJson(`${gateway.url}/batch`, { model: 'stub', dataset: 'tiny' })
    const queued = await postJson(`${gateway.url}/batch`, { model: 'stub', dataset: 'tiny' })
    assert.equal(running.status, 202)
    assert.equal(queued.status, 202)
    if (stub.requests.length === 0) await once(stub, 'request')
    assert.equal((await call(`${gateway.url}/batch/${running.body.id}`)).body.status, 'running')
    assert.equal((await call(`${gateway.url}/batch/${queued.body.id}`)).body.status, 'queued')

    const expected = ['200 cancelled', ...Array.from({ length: 19 }, () => '409 batch_finished')]
    assert.deepEqual(await concurrentDeletes(`${gateway.url}/batch/${queued.body.id}`, 20), expected, 'queued job')
    assert.deepEqual(await concurrentDeletes(`${gateway.url}/batch/${running.body.id}`, 20), expected, 'running job')
    for (const id of [running.body.id, queued.body.id]) {
      assert.equal((await call(`${gateway.url}/batch/${id}`)).body.status, 'cancelled')
    }
    release()
  })

  test('20 cancels in one tick (in-process, no network to space them): exactly one wins, whatever state the job is in', async () => {
    release = stub.holdAnswers()
    const outcomes = async (id: string) => {
      const settled = await Promise.allSettled(Array.from({ length: 20 }, () => gateway.batch.cancel(id)))
      return settled
        .map((s) => (s.status === 'fulfilled' ? `ok ${s.value.status}` : `${(s.reason as { code: string }).code}`))
        .sort()
    }
    const expected = ['ok cancelled', ...Array.from({ length: 19 }, () => 'batch_finished')].sort()
    // Picked at once (the only job): cancelled while it starts or runs.
    const first = await gateway.batch.submit({ model: 'stub', dataset: 'tiny' })
    const second = await gateway.batch.submit({ model: 'stub', dataset: 'tiny' })
    const third = await gateway.batch.submit({ model: 'stub', dataset: 'tiny' })
    assert.deepEqual(await outcomes(third.id), expected, 'queued')
    assert.deepEqual(await outcomes(first.id), expected, 'starting or running')
    if (gateway.batch.get(second.id)?.status !== 'running') await once(stub, 'request')
    assert.deepEqual(await outcomes(second.id), expected, 'running')
    release()
  })

  test('a JSON body field of the wrong type is refused, not coerced: "limit": "5", "model": 5', async () => {
    for (const body of [
      { model: 'stub', dataset: 'tiny', limit: '5' },
      { model: 'stub', dataset: 'tiny', limit: true },
      { model: 'stub', dataset: 'tiny', limit: [5] },
      { model: 5, dataset: 'tiny' },
      { model: 'stub', dataset: ['tiny'] },
    ]) {
      const answer = await postJson(`${gateway.url}/batch`, body)
      assert.equal(answer.status, 400, JSON.stringify(body))
      assert.equal(errorCode(answer), 'bad_request')
      assert.match(answer.body.error, /must be (integer|string)/, JSON.stringify(answer.body))
    }
    const right = await postJson(`${gateway.url}/batch`, { model: 'stub', dataset: 'tiny', limit: 1 })
    assert.equal(right.status, 202)
    assert.equal(right.body.limit, 1)
    await call(`${gateway.url}/batch/${right.body.id}`, { method: 'DELETE' })
  })
})
