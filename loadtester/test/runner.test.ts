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
    const lateness: number[] = []
    for (const arrival of target.arrivals) {
      const record = result.records[arrival.index]!
      assert.ok(record.intendedMs >= record.second * 1000 && record.intendedMs < (record.second + 1) * 1000)
      const late = arrival.at - (result.startMs + record.intendedMs)
      assert.ok(late > -1, `request ${arrival.index} arrived ${late.toFixed(1)} ms before its time`)
      lateness.push(late)
      assert.equal(arrival.headers['x-timeout-ms'], '2000')
    }
    // On schedule: the typical request to within a few ms; one GC pause or a busy core may delay a few more, never
    // by as much as a second (which is what a scheduler waiting for answers would do). Precision: bench:loadtester.
    lateness.sort((a, b) => a - b)
    assert.ok(lateness[lateness.length >> 1]! < 20, `median lateness ${lateness[lateness.length >> 1]!.toFixed(1)} ms`)
    assert.ok(lateness.at(-1)! < 500, `largest lateness ${lateness.at(-1)!.toFixed(1)} ms`)
    assert.ok(result.records.every((r) => r.status === 200))
    assert.ok(result.durationS >= workload.length - 0.1)
  })

  test('a slow server does not slow the arrivals down (no coordinated omission)', async () => {
    const target = await stub({ answer: () => ({ status: 200, label: 'x', delayMs: 400 }) })
    const result = await runLoad({ ...base, target: target.url, workload: [20, 20], arrival: 'uniform' })
    const gaps = target.arrivals.slice(1).map((a, i) => a.at - target.arrivals[i]!.at)
    // Sent every 50 ms while each answer takes 400 ms: a closed-loop client would leave 400 ms gaps.
    assert.ok(Math.max(...gaps) < 400, `largest gap between arrivals ${Math.max(...gaps)} ms`)
    for (const record of result.records) {
      // The stub's 400 ms timer runs on libuv's cached loop time, which can lag the real time by a millisecond or
      // two when the timer is set, so an answer can come a little before 400 ms of our clock: allow 2 ms of that.
      const latency = record.answeredMs! - record.intendedMs
      assert.ok(latency >= 398, `latency counts from the intended time: ${latency.toFixed(2)} ms`)
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

  test('a target URL with a path is the endpoint: every request is POSTed there, query kept', async () => {
    const target = await stub({ replicas: () => ({ ready: 2, total: 3 }) })
    const result = await runLoad({
      ...base,
      pollReplicas: true,
      target: `${target.url}/add_to_queue?model=darknet-tiny&x=1`,
      workload: [6],
      arrival: 'uniform',
    })
    assert.deepEqual(
      target.arrivals.map((a) => a.url),
      Array.from({ length: 6 }, () => '/add_to_queue?model=darknet-tiny&x=1'),
    )
    assert.ok(result.records.every((r) => r.status === 200))
    // GET /replicas is still polled beside the endpoint, not under it, and without its query.
    assert.ok(target.gets.length >= 1)
    assert.ok(
      target.gets.every((url) => url === '/replicas'),
      target.gets.join(', '),
    )
    assert.deepEqual(result.replicas[0], { second: 0, ready: 2, total: 3, desired: undefined })
  })

  test('a bare target posts to /predict; an endpoint under a prefix polls the replicas under that prefix', async () => {
    const bare = await stub({ replicas: () => ({ ready: 1, total: 1 }) })
    const bareResult = await runLoad({ ...base, pollReplicas: true, target: `${bare.url}/`, workload: [3] })
    assert.deepEqual(
      bare.arrivals.map((a) => a.url),
      ['/predict', '/predict', '/predict'],
    )
    assert.ok(bare.gets.length >= 1 && bare.gets.every((url) => url === '/replicas'))
    assert.ok(bareResult.replicas.length >= 1)

    const prefixed = await stub()
    const result = await runLoad({
      ...base,
      pollReplicas: true,
      target: `${prefixed.url}/switchyard/predict`,
      workload: [2],
    })
    assert.deepEqual(
      prefixed.arrivals.map((a) => a.url),
      ['/switchyard/predict', '/switchyard/predict'],
    )
    // The stub does not serve it there (404): polling stops quietly after one try, the run is unaffected.
    assert.deepEqual(prefixed.gets, ['/switchyard/replicas'])
    assert.deepEqual(result.replicas, [])
    assert.ok(result.records.every((r) => r.status === 200))
  })

  test('the path option still overrides the path of the target', async () => {
    const target = await stub()
    await runLoad({ ...base, target: `${target.url}/ignored?q=1`, path: '/add_to_queue', workload: [2] })
    assert.deepEqual(
      target.arrivals.map((a) => a.url),
      ['/add_to_queue', '/add_to_queue'],
    )
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
