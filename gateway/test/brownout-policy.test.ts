import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ADMISSION_HEADROOM, type LoadNow, requestBudget, wouldMissDeadline } from '../src/admission/admission.ts'
import { brownoutChoice, type FallbackLoad } from '../src/admission/brownout.ts'
import { expectedQueueWaitMs } from '../src/admission/expected-wait.ts'
import { SERVICE_ESTIMATE_STALE_MS, VersionServiceTimes } from '../src/measurements/version-service-times.ts'

const settings = { defaultTimeoutMs: 30_000, sloMs: 500 }
type Load = Pick<LoadNow, 'queued' | 'replicas' | 'measuredPace'>
/** One replica serving both versions, both its slots busy, the primary taking 300 ms. */
const shared = [{ slots: 2, latencyMs: 300, load: 2 }]
const busy: Load = { queued: 1, replicas: shared, measuredPace: 5 }
const fast = (serviceMs: number | undefined, probing = false, stale = false): FallbackLoad => ({
  replicas: shared,
  serviceMs,
  stale,
  probing,
})

describe('brownout policy (pure)', () => {
  test('the primary runs when it is expected in time, whatever the fallback', () => {
    const idle: Load = { queued: 0, replicas: [{ slots: 2, latencyMs: 300, load: 0 }], measuredPace: 5 }
    assert.deepEqual(brownoutChoice(requestBudget(undefined, settings), idle, fast(10)), { kind: 'primary' })
    assert.deepEqual(brownoutChoice(requestBudget(undefined, settings), idle, undefined), { kind: 'primary' })
  })

  test('the primary would miss: the fallback runs when its wait plus its measured service time fits, else refused', () => {
    // Wait: (1 − 0 + 1) / (2 / 300 ms) = 300 ms; the primary 600 ms > 400 ms (0.8 × 500); the fallback 300 + 50.
    const budget = requestBudget(undefined, settings)
    assert.equal(wouldMissDeadline(budget, busy), 600)
    assert.deepEqual(brownoutChoice(budget, busy, fast(50)), { kind: 'fallback', expectedMs: 350, probe: false })
    assert.deepEqual(brownoutChoice(budget, busy, fast(150)), { kind: 'refuse' }, '300 + 150 > 400')
    assert.deepEqual(brownoutChoice(budget, busy, undefined), { kind: 'refuse' }, 'no fallback set')
    assert.deepEqual(
      brownoutChoice(budget, busy, { ...fast(10), replicas: [] }),
      { kind: 'refuse' },
      'no replica serves it',
    )
  })

  test('an unmeasured fallback: one probe at a time, when the wait alone fits', () => {
    const budget = requestBudget(undefined, settings)
    assert.deepEqual(brownoutChoice(budget, busy, fast(undefined)), {
      kind: 'fallback',
      expectedMs: undefined,
      probe: true,
    })
    assert.deepEqual(brownoutChoice(budget, busy, fast(undefined, true)), { kind: 'refuse' }, 'a probe is out')
    const longQueue = { ...busy, queued: 5 }
    assert.deepEqual(brownoutChoice(budget, longQueue, fast(undefined)), { kind: 'refuse' }, 'the wait alone misses')
  })

  test('an old measurement: believed when it fits; when it does not, one probe re-measures it', () => {
    const budget = requestBudget(undefined, settings)
    const stale = (serviceMs: number, probing: boolean) => brownoutChoice(budget, busy, fast(serviceMs, probing, true))
    assert.deepEqual(stale(50, false), { kind: 'fallback', expectedMs: 350, probe: false })
    assert.deepEqual(stale(500, false), { kind: 'fallback', expectedMs: undefined, probe: true })
    assert.deepEqual(stale(500, true), { kind: 'refuse' }, 'a probe is out')
    assert.deepEqual(brownoutChoice(budget, busy, fast(500)), { kind: 'refuse' }, 'a fresh one is believed')
  })

  test('the fallback waits for the queue ahead on the primary’s replicas too (first in, first out)', () => {
    // Its own replica is idle, but the jobs ahead wait for the primary's: 600 ms of queue before it, over 400.
    const budget = requestBudget(undefined, settings)
    const ownIdle = {
      replicas: [{ slots: 2, latencyMs: 5, load: 0 }],
      serviceMs: 5,
      stale: false,
      probing: false,
    }
    assert.deepEqual(brownoutChoice(budget, { ...busy, queued: 3 }, ownIdle), { kind: 'refuse' })
  })

  const replica = fc.record({
    slots: fc.integer({ min: 1, max: 4 }),
    latencyMs: fc.double({ min: 1, max: 2000, noNaN: true }),
    load: fc.integer({ min: 0, max: 4 }),
  })
  const load = fc.record({
    queued: fc.nat(100),
    replicas: fc.array(replica, { minLength: 1, maxLength: 4 }),
    measuredPace: fc.option(fc.double({ min: 0.1, max: 500, noNaN: true }), { nil: undefined }),
  })
  const fallbackLoad = fc.record({
    replicas: fc.array(replica, { maxLength: 4 }),
    serviceMs: fc.option(fc.double({ min: 0.1, max: 2000, noNaN: true }), { nil: undefined }),
    stale: fc.boolean(),
    probing: fc.boolean(),
  })
  const budget = fc.oneof(
    fc.constant(requestBudget(undefined, settings)),
    fc.integer({ min: 1, max: 5000 }).map((ms) => requestBudget(ms, settings)),
  )

  test('property: never chosen when the primary fits; never without a replica serving it; fits when measured', () => {
    fc.assert(
      fc.property(budget, load, fallbackLoad, (budget, load, fallback) => {
        const choice = brownoutChoice(budget, load, fallback)
        const primaryFits = wouldMissDeadline(budget, load) === undefined
        assert.equal(choice.kind === 'primary', primaryFits)
        if (choice.kind !== 'fallback') return
        assert.ok(fallback.replicas.length > 0, 'chosen with no replica serving it')
        const wait = Math.max(
          expectedQueueWaitMs(load.queued, load.replicas, load.measuredPace)!,
          expectedQueueWaitMs(load.queued, fallback.replicas, load.measuredPace)!,
        )
        const allowed = budget.budgetMs * ADMISSION_HEADROOM
        if (!choice.probe) {
          assert.ok(fallback.serviceMs !== undefined, 'chosen on no measurement without probing')
          assert.ok(wait + fallback.serviceMs <= allowed + 1e-9, `${wait} + ${fallback.serviceMs} > ${allowed}`)
        } else {
          assert.ok(fallback.serviceMs === undefined || fallback.stale, 'a probe despite a fresh measurement')
          assert.equal(fallback.probing, false, 'a second probe while one is out')
          assert.ok(wait <= allowed + 1e-9)
        }
      }),
      { numRuns: 2000 },
    )
  })

  test('property: a faster fallback is chosen wherever a slower one is (monotone in service time)', () => {
    fc.assert(
      fc.property(
        budget,
        load,
        fallbackLoad,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (budget, load, fallback, share) => {
          if (fallback.serviceMs === undefined) return
          const slower = brownoutChoice(budget, load, fallback)
          const faster = brownoutChoice(budget, load, { ...fallback, serviceMs: fallback.serviceMs * share })
          if (slower.kind === 'fallback') assert.equal(faster.kind, 'fallback')
        },
      ),
    )
  })
})

describe('per-version service times', () => {
  test('peak EWMA per version, unknown until measured; a probe lasts until an answer or its deadline', () => {
    const times = new VersionServiceTimes()
    assert.equal(times.serviceMs('tiny@v1'), undefined)
    assert.equal(times.stale('tiny@v1', 0), false, 'unknown, not stale')
    times.startProbe('tiny@v1', 1000)
    assert.equal(times.probing('tiny@v1', 999), true)
    assert.equal(times.probing('tiny@v1', 1000), false, 'expired: another request may try')
    times.startProbe('tiny@v1', 5000)
    times.record('tiny@v1', 40, 100)
    assert.equal(times.probing('tiny@v1', 200), false, 'answered: the probe is over')
    assert.equal(times.serviceMs('tiny@v1'), 40)
    times.record('tiny@v1', 80, 200)
    assert.equal(times.serviceMs('tiny@v1'), 80, 'a slower answer counts at once')
    times.record('tiny@v1', 20, 10_200)
    const decayed = times.serviceMs('tiny@v1')!
    assert.ok(decayed < 80 && decayed > 20, `a faster one pulls it down gradually (${decayed})`)
    assert.equal(times.serviceMs('big@v1'), undefined, 'versions are apart')
    assert.equal(times.stale('tiny@v1', 10_200 + SERVICE_ESTIMATE_STALE_MS - 1), false)
    assert.equal(times.stale('tiny@v1', 10_200 + SERVICE_ESTIMATE_STALE_MS), true, 'not answered for a long time')
  })
})
