import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LiveStats } from '../src/live-stats.ts'

const T0 = 1_700_000_000_000

describe('LiveStats (the web page’s last minute)', () => {
  test('counts answers per second, percentiles over successful answers only, and the minute overall', () => {
    const stats = new LiveStats(60)
    for (let i = 1; i <= 100; i++) stats.recordAnswer(T0 + 10, i, 200)
    stats.recordAnswer(T0 + 20, 5000, 503)
    stats.recordAnswer(T0 + 1500, 300, 200)
    const { seconds, minute } = stats.snapshot(T0 + 1600)
    assert.equal(seconds.length, 60)
    const [previous, current] = seconds.slice(-2)
    assert.deepEqual([previous!.answered, previous!.ok, previous!.p50, previous!.p99], [101, 100, 50, 99])
    assert.deepEqual([current!.answered, current!.p99], [1, 300])
    assert.deepEqual(minute, { answered: 102, degraded: 0, p50: 51, p99: 100 })
  })

  test('degraded answers (a fallback answered, brownout) are counted apart, 200s only', () => {
    const stats = new LiveStats(60)
    stats.recordAnswer(T0 + 10, 40, 200, true)
    stats.recordAnswer(T0 + 20, 30, 200, true)
    stats.recordAnswer(T0 + 30, 300, 200)
    stats.recordAnswer(T0 + 40, 900, 504, true)
    const { seconds, minute } = stats.snapshot(T0 + 1600)
    assert.deepEqual([seconds.at(-2)!.ok, seconds.at(-2)!.degraded, seconds.at(-1)!.degraded], [3, 2, 0])
    assert.equal(minute.degraded, 2)
  })

  test('gauges: the largest queue of the second; ready and desired carry over, null before the first sample', () => {
    const stats = new LiveStats(10)
    stats.sampleGauges(T0, { queue: 3, ready: 1, desired: 2 })
    stats.sampleGauges(T0 + 400, { queue: 9, ready: 2, desired: 2 })
    stats.sampleGauges(T0 + 800, { queue: 1, ready: 2, desired: 3 })
    const { seconds } = stats.snapshot(T0 + 2500)
    const first = seconds.at(-3)!
    assert.deepEqual([first.queue, first.ready, first.desired], [9, 2, 3])
    assert.deepEqual([seconds.at(-2)!.ready, seconds.at(-2)!.queue], [2, 0])
    assert.equal(seconds.at(-4)!.ready, null)
  })

  test('seconds older than the window are forgotten', () => {
    const stats = new LiveStats(5)
    stats.recordAnswer(T0, 10, 200)
    stats.recordAnswer(T0 + 5000, 20, 200)
    assert.deepEqual(stats.snapshot(T0 + 5000).minute, { answered: 1, degraded: 0, p50: 20, p99: 20 })
  })
})
