import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { call } from '../../common/http/call.ts'
import { slotsToLend } from '../src/dispatch/slot-lending.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { jobsAccepted, stubPoolFixture } from './helpers.ts'

const image = Buffer.alloc(2048, 7)
const post = (gateway: RunningGateway) =>
  call(`${gateway.url}/predict`, { body: image, headers: { 'content-type': 'image/jpeg' } })

describe('slots lent while the queue is deep (REPLICA_SLOTS_WHEN_QUEUED)', () => {
  const { stubs, gatewayFor, closeAll } = stubPoolFixture()
  after(closeAll)

  /** Sends `count` requests while the stub holds every answer; returns what is in flight and queued once they wait. */
  async function holdAndSend(gateway: RunningGateway, stub: { holdAnswers(): () => void }, count: number) {
    const release = stub.holdAnswers()
    const queued = jobsAccepted(gateway, count)
    const answers = Array.from({ length: count }, () => post(gateway))
    // Accepting a job dispatches at once (synchronously, after its 'queued'): nothing more moves until answers come.
    await queued
    const seen = { busy: gateway.dispatcher.busy, queued: gateway.queue.size }
    release()
    const statuses = (await Promise.all(answers)).map((a) => a.status)
    return { ...seen, statuses }
  }

  test('a short queue keeps late binding: one job waiting for one replica is not sent early', async () => {
    const [stub] = await stubs({})
    const gateway = await gatewayFor([stub!], ['--replica-slots-when-queued', '4'])
    const { busy, queued, statuses } = await holdAndSend(gateway, stub!, 2)
    assert.deepEqual({ busy, queued }, { busy: 1, queued: 1 })
    assert.deepEqual(statuses, [200, 200])
  })

  test('a deep queue lends slots: the replica holds more than its own, never past the cap, the rest waits', async () => {
    const [stub] = await stubs({})
    const gateway = await gatewayFor([stub!], ['--replica-slots-when-queued', '4'])
    const { busy, queued, statuses } = await holdAndSend(gateway, stub!, 12)
    assert.equal(busy + queued, 12)
    assert.ok(busy > 1 && busy <= 4, `busy ${busy}`)
    // Lending stops where the policy says it would lend no more than is held: the state is its fixed point.
    assert.equal(busy, 1 + slotsToLend(queued + 1, 1, 1, 4))
    assert.ok(statuses.every((s) => s === 200))
    assert.equal(stub!.requests.length, 12)
  })

  test('off by default: the same deep queue waits at the gateway, one job per slot', async () => {
    const [stub] = await stubs({})
    const gateway = await gatewayFor([stub!])
    const { busy, queued, statuses } = await holdAndSend(gateway, stub!, 12)
    assert.deepEqual({ busy, queued }, { busy: 1, queued: 11 })
    assert.ok(statuses.every((s) => s === 200))
  })
})
