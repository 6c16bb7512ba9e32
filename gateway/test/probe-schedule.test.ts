import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { dueForBootProbe, type ProbeSchedule } from '../src/pool/probe-schedule.ts'

const schedule: ProbeSchedule = { intervalMs: 1000, bootIntervalMs: 100, bootWindowMs: 60_000 }

describe('probe schedule: replicas not ready yet are probed faster', () => {
  test('a booting replica is due once the short interval has passed since its last probe, and at once if never probed', () => {
    const booting = { ready: false, notReadySinceMs: 0 }
    assert.equal(dueForBootProbe({ ...booting, lastProbeMs: undefined }, 10, schedule), true)
    assert.equal(dueForBootProbe({ ...booting, lastProbeMs: 1000 }, 1099, schedule), false)
    assert.equal(dueForBootProbe({ ...booting, lastProbeMs: 1000 }, 1100, schedule), true)
  })

  test('a ready replica is left to the normal schedule; one not ready for longer than the window too', () => {
    assert.equal(dueForBootProbe({ ready: true, notReadySinceMs: undefined, lastProbeMs: 0 }, 5000, schedule), false)
    assert.equal(dueForBootProbe({ ready: false, notReadySinceMs: 0, lastProbeMs: 60_000 }, 60_001, schedule), false)
    assert.equal(dueForBootProbe({ ready: false, notReadySinceMs: 0, lastProbeMs: 59_800 }, 60_000, schedule), true)
  })

  test('off when the short interval is 0 or not shorter than the normal one', () => {
    const target = { ready: false, notReadySinceMs: 0, lastProbeMs: undefined }
    assert.equal(dueForBootProbe(target, 1, { ...schedule, bootIntervalMs: 0 }), false)
    assert.equal(dueForBootProbe(target, 1, { ...schedule, bootIntervalMs: 1000 }), false)
  })

  test('never more often than the short interval, never for a ready replica, never after the window', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 400_000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (ready, notReadySinceMs, lastProbeMs, now, bootIntervalMs, intervalMs, bootWindowMs) => {
          const s = { intervalMs, bootIntervalMs, bootWindowMs }
          const due = dueForBootProbe({ ready, notReadySinceMs, lastProbeMs }, now, s)
          if (!due) return
          assert.equal(ready, false)
          assert.ok(bootIntervalMs > 0 && bootIntervalMs < intervalMs)
          if (lastProbeMs !== undefined) assert.ok(now - lastProbeMs >= bootIntervalMs)
          if (notReadySinceMs !== undefined) assert.ok(now - notReadySinceMs <= bootWindowMs)
        },
      ),
    )
  })
})
