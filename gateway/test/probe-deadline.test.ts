import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import type { ProbeResult } from '../src/pool/readiness.ts'
import { routable, startTestGateway } from './helpers.ts'

const TIMEOUT_MS = 50

describe('gateway: readiness probes and a busy event loop', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  test('an answer that arrived in time counts, even when the loop was stalled past the probe timeout', async () => {
    // A replica in this process: after it has answered a probe, the test blocks the event loop (as copying uploads
    // can) until the probe's timeout is long overdue. The answer is in the gateway's socket by then.
    let stallNext = false
    const stalled = Promise.withResolvers<void>()
    const replica = createServer((request, response) => {
      if (request.url !== '/readyz') {
        response.writeHead(404).end()
        return
      }
      const arrivedAt = performance.now()
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ready":true}')
      if (!stallNext) return
      stallNext = false
      // After the answer's bytes are written (its write is flushed on the next tick), before the loop polls again.
      setImmediate(() => {
        while (performance.now() - arrivedAt < TIMEOUT_MS * 4) {
          // Busy, as a loop copying request bodies is.
        }
        stalled.resolve()
      })
    })
    replica.listen(0, '127.0.0.1')
    await once(replica, 'listening')
    cleanup.push(() => new Promise((resolve) => replica.close(() => resolve())))
    const url = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', url, '--autoscaler', 'none'],
      ...['--health-interval-ms', '20', '--health-timeout-ms', String(TIMEOUT_MS)],
    ])
    cleanup.push(() => gateway.shutdown(1000))
    await routable(gateway, 1)

    // The verdict of each probe, in order; the one after the stall is the stalled probe's (one probe at a time).
    const verdicts: ProbeResult[] = []
    let nextVerdict = Promise.withResolvers<void>()
    const recordProbe = gateway.pool.recordProbe.bind(gateway.pool)
    gateway.pool.recordProbe = (r, result, models) => {
      verdicts.push(result)
      nextVerdict.resolve()
      recordProbe(r, result, models)
    }
    stallNext = true
    await stalled.promise
    // Still in the turn that stalled: the stalled probe's verdict is the next one.
    const atStall = verdicts.length
    nextVerdict = Promise.withResolvers<void>()
    await nextVerdict.promise
    assert.equal(verdicts[atStall], 'ready', 'the answer that was waiting in the socket was read')
  })
})
