import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { call, errorCode } from '../../common/http/call.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { jobsAccepted, routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const image = Buffer.alloc(2048, 7)
const post = (gateway: RunningGateway, headers: Record<string, string> = {}) =>
  call(`${gateway.url}/predict`, { body: image, headers: { 'content-type': 'image/jpeg', ...headers } })
/** One event-loop turn: a promise resolved synchronously (or in microtasks) has settled by then. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('gateway shutdown: work in flight to a replica', () => {
  const stubs: StubReplica[] = []
  after(async () => {
    for (const stub of stubs) await stub.close()
  })
  const setup = async () => {
    const stub = await StubReplica.start({ name: 'held' })
    stubs.push(stub)
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', stub.url, '--autoscaler', 'none'],
    ])
    await routable(gateway, 1)
    return { stub, gateway }
  }

  test('the drain waits for a request in flight with nothing queued: answered 200, and only then is it drained', async () => {
    const { stub, gateway } = await setup()
    const release = stub.holdAnswers()
    let answered = false
    const answer = post(gateway).finally(() => (answered = true))
    await stub.received(1)
    assert.equal(gateway.queue.size, 0, 'nothing queued: only the attempt in flight holds the drain')
    let drained = false
    const whenDrained = gateway.dispatcher.drained().then(() => (drained = true))
    let stopped = false
    const stopping = gateway.shutdown(60_000).then(() => (stopped = true))
    await turn()
    assert.equal(drained, false, 'not drained while the replica still holds the request')
    release()
    assert.equal((await answer).status, 200)
    await whenDrained
    await stopping
    assert.ok(answered && drained && stopped)
  })

  test('past a short drain timeout, a request in flight is still answered 200, and shutdown waits for it', async () => {
    const { stub, gateway } = await setup()
    const release = stub.holdAnswers()
    let answered = false
    const inFlight = post(gateway).finally(() => (answered = true))
    await stub.received(1)
    // A second request waits in the gateway's queue (the replica's one slot is taken) until the drain time runs out.
    const accepted = jobsAccepted(gateway, 1)
    const queued = post(gateway)
    await accepted
    let stopped = false
    const stopping = gateway.shutdown(50).then(() => (stopped = true))
    // The queued request is refused when the drain time is up: from then on only the one in flight holds shutdown.
    const refused = await queued
    assert.equal(refused.status, 503)
    assert.equal(errorCode(refused), 'shutting_down')
    await turn()
    assert.equal(answered, false, 'the request in flight was not cut when the drain time ran out')
    assert.equal(stopped, false, 'shutdown waits for it')
    release()
    assert.equal((await inFlight).status, 200)
    await stopping
  })

  test('an answer given while the server closes ends its keep-alive connection, so the close does not wait on it', async () => {
    const { stub, gateway } = await setup()
    const release = stub.holdAnswers()
    const inFlight = post(gateway)
    await stub.received(1)
    const stopping = gateway.shutdown(0)
    await turn()
    release()
    const answer = await inFlight
    assert.equal(answer.status, 200)
    assert.equal(answer.headers.connection, 'close')
    await stopping
  })
})
