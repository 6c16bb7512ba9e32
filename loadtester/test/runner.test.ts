import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import type { LoadImage } from '../src/images.ts'
import { runLoad } from '../src/runner.ts'
import { StubTarget } from './stub-target.ts'

const images: LoadImage[] = [
  { name: 'n01440764_tench.JPEG', bytes: Buffer.alloc(3000, 1), truth: 'tench' },
  { name: 'n01443537_goldfish.JPEG', bytes: Buffer.alloc(2000, 2), truth: 'goldfish' },
]
const base = { arrival: 'poisson' as const, seed: 3, images, timeoutMs: 2000, concurrencyCap: 256, pollReplicas: false }

describe('open-loop runner against a stub on 127.0.0.1', () => {
  const stubs: StubTarget[] = []
  after(() => Promise.all(stubs.map((s) => s.close())))
  const stub = async (options?: ConstructorParameters<typeof StubTarget>[0]) => {
    const s = await new StubTarget(options).start()
    stubs.push(s)
    return s
  }

  test('per-second counts equal the file, and every request arrives at its intended time', async () => {
    const target = await stub()
    const workload = [10, 30, 5, 0, 15]
    const result = await runLoad({ ...base, target: target.url, workload })
    assert.equal(target.arrivals.length, 60)
    const perSecond = workload.map((_, s) => result.records.filter((r) => r.second === s).length)
    assert.deepEqual(perSecond, workload)
    for (const arrival of target.arrivals) {
      const record = result.records[arrival.index]!
      assert.ok(record.intendedMs >= record.second * 1000 && record.intendedMs < (record.second + 1) * 1000)
      const late = arrival.at - (result.startMs + record.intendedMs)
      assert.ok(late > -1 && late < 50, `request ${arrival.index} arrived ${late.toFixed(1)} ms off schedule`)
      assert.equal(arrival.headers['x-timeout-ms'], '2000')
    }
    assert.ok(result.records.every((r) => r.status === 200))
    assert.ok(result.durationS >= workload.length - 0.1)
  })

  test('a slow server does not slow the arrivals down (no coordinated omission)', async () => {
    const target = await stub({ answer: () => ({ status: 200, label: 'x', delayMs: 400 }) })
    const result = await runLoad({ ...base, target: target.url, workload: [20, 20], arrival: 'uniform' })
    const gaps = target.arrivals.slice(1).map((a, i) => a.at - target.arrivals[i]!.at)
    assert.ok(Math.max(...gaps) < 100, `largest gap between arrivals ${Math.max(...gaps)} ms`)
    for (const record of result.records) {
      assert.ok(record.answeredMs! - record.intendedMs >= 400, 'latency counts from the intended time')
    }
  })

  test('no answer within the timeout is a timeout; beyond the concurrency cap, requests are recorded as not sent', async () => {
    const hanging = await stub({
      answer: (i) => (i % 2 === 0 ? { status: 200, label: 'x' } : { status: 0, hang: true }),
    })
    const timed = await runLoad({ ...base, target: hanging.url, workload: [6], arrival: 'uniform', timeoutMs: 300 })
    assert.deepEqual(
      timed.records.map((r) => r.status),
      [200, 'timeout', 200, 'timeout', 200, 'timeout'],
    )
    const slow = await stub({ answer: () => ({ status: 200, label: 'x', delayMs: 500 }) })
    const capped = await runLoad({ ...base, target: slow.url, workload: [8], arrival: 'burst', concurrencyCap: 3 })
    assert.equal(capped.records.filter((r) => r.status === 'not_sent').length, 5)
    assert.equal(slow.arrivals.length, 3)
  })

  test('stopping (Ctrl-C) ends scheduling; requests in flight still complete', async () => {
    const target = await stub({ answer: () => ({ status: 200, label: 'x', delayMs: 200 }) })
    const stop = new AbortController()
    target.once('request', () => stop.abort())
    const result = await runLoad({ ...base, target: target.url, workload: [20, 20, 20, 20, 20], signal: stop.signal })
    assert.equal(result.interrupted, true)
    assert.ok(result.records.length >= 1 && result.records.length < 100)
    assert.ok(
      result.records.every((r) => r.status === 200),
      'everything sent was answered',
    )
  })
})
