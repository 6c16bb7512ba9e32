import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { postImage } from '../../common/http/call.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const isBatch = (request: { headers: Record<string, unknown> }) =>
  String(request.headers['x-request-id']).startsWith('batch-')

/**
 * The structural half of "interactive requests keep their p99 while a batch runs" (the figure is in
 * `npm run bench:batch`): batch images wait in the low-priority lane, so an interactive request waits at most for the
 * attempts already in flight, never for a queued batch image, and the batch never holds more than its concurrency.
 * A stub replica whose answers the test releases makes every step an event, not a race.
 */
describe('batch jobs yield to interactive requests', () => {
  let stub: StubReplica
  let gateway: RunningGateway

  before(async () => {
    stub = await StubReplica.start({ delayMs: 0, models: [{ name: 'stub', version: '1' }] })
    const root = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
    mkdirSync(join(root, 'tiny'))
    for (let i = 0; i < 40; i++)
      writeFileSync(join(root, 'tiny', `n${String(i).padStart(8, '0')}_stub.jpg`), `img ${i}`)
    gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'none'],
      ...['--datasets-dir', root, '--batch-concurrency', '3'],
    ])
    await routable(gateway, 1)
  })
  after(async () => {
    await gateway.shutdown(5000)
    await stub.close()
  })

  test('with the replica busy, every waiting interactive request is sent before any queued batch image', async () => {
    let maxLow = 0
    gateway.dispatcher.on('queued', () => {
      maxLow = Math.max(maxLow, gateway.queue.laneSize('low'))
    })
    let release = stub.holdAnswers()
    /** Frees the held attempt; the next one the replica gets is held in turn. */
    const releaseOne = () => {
      const held = release
      release = stub.holdAnswers()
      held()
    }
    const job = await gateway.batch.submit({ model: 'stub', dataset: 'tiny' })
    for (let round = 1; round <= 4; round++) {
      // One batch image in flight (one slot), the rest of the batch's concurrency waiting in the low lane.
      const before = stub.requests.length + 1
      await stub.received(before)
      assert.ok(isBatch(stub.requests[before - 1]!))
      while (gateway.queue.laneSize('low') < 2) await once(gateway.dispatcher, 'queued')
      const interactive = Array.from({ length: 3 }, () =>
        postImage(`${gateway.url}/predict?model=stub`, Buffer.from('interactive'), { 'x-timeout-ms': '30000' }),
      )
      while (gateway.queue.laneSize('normal') < 3) await once(gateway.dispatcher, 'queued')
      for (let k = 0; k < 3; k++) {
        releaseOne()
        await stub.received(before + k + 1)
        assert.equal(isBatch(stub.requests[before + k]!), false, `round ${round}: interactive request ${k} went first`)
      }
      releaseOne()
      for (const answer of await Promise.all(interactive)) assert.equal(answer.status, 200)
    }
    release()
    const done = await gateway.batch.wait(job.id)
    assert.equal(done.status, 'succeeded')
    assert.equal(done.results?.images, 40)
    assert.ok(maxLow <= 3, `the batch held ${maxLow} places in the low lane (concurrency 3)`)
    assert.equal(stub.requests.filter(isBatch).length, 40, 'each image sent once')
  })
})

describe('the low-lane reserve', () => {
  test('while interactive requests arrive, batch work leaves a slot free for them, which the next one takes at once', async () => {
    const stubs = await Promise.all(
      [0, 1].map(() => StubReplica.start({ delayMs: 0, models: [{ name: 'stub', version: '1' }] })),
    )
    const root = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
    mkdirSync(join(root, 'tiny'))
    for (let i = 0; i < 8; i++) writeFileSync(join(root, 'tiny', `n${String(i).padStart(8, '0')}_stub.jpg`), `img ${i}`)
    // The reserve applies for 1 s after an interactive request; the batch's start (dataset, SQLite) and the checks
    // below may take longer than that on a slow machine, and batch work would then rightly take both slots.
    const gateway = await startTestGateway(
      [
        ...['--discovery', 'static', '--replicas', stubs.map((s) => s.url).join(','), '--autoscaler', 'none'],
        ...['--datasets-dir', root, '--batch-concurrency', '2', '--low-priority-reserved-slots', '1'],
      ],
      { interactiveWindowMs: 60_000 },
    )
    try {
      await routable(gateway, 2)
      const received = () => stubs.reduce((sum, stub) => sum + stub.requests.length, 0)
      // Interactive traffic just arrived (answered at once: nothing is held yet).
      assert.equal((await postImage(`${gateway.url}/predict?model=stub`, Buffer.from('x'))).status, 200)
      const held = stubs.map((stub) => stub.holdAnswers())
      const job = await gateway.batch.submit({ model: 'stub', dataset: 'tiny' })
      await new Promise<void>((resolve) => {
        const check = () => {
          if (gateway.queue.laneSize('low') < 1 || gateway.dispatcher.busy < 1) return
          gateway.dispatcher.off('queued', check)
          resolve()
        }
        gateway.dispatcher.on('queued', check)
      })
      // Both images were submitted; one runs, the other waits although a slot is free: the reserve.
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(gateway.dispatcher.busy, 1)
      assert.equal(gateway.queue.laneSize('low'), 1)
      // The first interactive request and the batch image in flight have reached the stubs.
      const arrived = (count: number) => Promise.race(stubs.map((stub) => once(stub, 'request'))).then(() => count)
      while (received() < 2) await arrived(received())
      // An interactive request takes the reserved slot at once.
      const before = received()
      const interactive = postImage(`${gateway.url}/predict?model=stub`, Buffer.from('y'))
      while (received() < before + 1) await arrived(received())
      const latest = stubs.flatMap((stub) => stub.requests).sort((a, b) => a.at - b.at)
      assert.equal(isBatch(latest.at(-1)!), false, 'the interactive request took the free slot')
      assert.equal(received(), before + 1)
      for (const h of held) h()
      assert.equal((await interactive).status, 200)
      assert.equal((await gateway.batch.wait(job.id)).status, 'succeeded')
    } finally {
      await gateway.shutdown(5000)
      await Promise.all(stubs.map((stub) => stub.close()))
    }
  })
})
