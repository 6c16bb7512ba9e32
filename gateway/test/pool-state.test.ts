import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { HEALTHY, isEjected, readmit, recordOutcome } from '../src/pool/outlier.ts'
import { updatePeakEwma } from '../src/pool/peak-ewma.ts'
import { ReplicaPool } from '../src/pool/replica-pool.ts'

const policy = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 8000 }
const poolOptions = {
  slotsPerReplica: 1,
  connectTimeoutMs: 100,
  outlier: policy,
  readiness: { failureThreshold: 3, successThreshold: 1 },
}

describe('outlier detection', () => {
  test('three consecutive failures eject; a success in between resets the streak', () => {
    let state = recordOutcome(HEALTHY, 'failure', 0, policy)
    state = recordOutcome(state, 'failure', 0, policy)
    state = recordOutcome(state, 'success', 0, policy)
    state = recordOutcome(state, 'failure', 0, policy)
    state = recordOutcome(state, 'failure', 0, policy)
    assert.equal(isEjected(state), false)
    state = recordOutcome(state, 'failure', 10, policy)
    assert.equal(isEjected(state), true)
    assert.equal(state.ejectedUntil, 1010)
    assert.equal(isEjected(state), true, 'still out after the period, until a probe re-admits it')
    assert.equal(isEjected(readmit(state, 1010)), false)
  })

  test('a refused connection ejects at once', () => {
    assert.equal(isEjected(recordOutcome(HEALTHY, 'refused', 0, policy)), true)
  })

  test('ejections back off exponentially up to the cap, and readmission needs the period to be over', () => {
    let state = HEALTHY
    const lengths: number[] = []
    let now = 0
    for (let i = 0; i < 6; i++) {
      state = recordOutcome(state, 'refused', now, policy)
      lengths.push(state.ejectedUntil - now)
      assert.deepEqual(readmit(state, now + 1), state, 'still ejected')
      now = state.ejectedUntil
      state = readmit(state, now)
      assert.equal(isEjected(state), false)
    }
    assert.deepEqual(lengths, [1000, 2000, 4000, 8000, 8000, 8000])
  })
})

describe('peak EWMA', () => {
  test('jumps to a slower sample at once and decays towards faster ones', () => {
    let value = updatePeakEwma(undefined, 20, 0, 1000)
    assert.equal(value, 20)
    value = updatePeakEwma(value, 200, 10, 1000)
    assert.equal(value, 200)
    value = updatePeakEwma(value, 20, 1000, 1000)
    assert.ok(value < 200 && value > 20)
    for (let i = 0; i < 20; i++) value = updatePeakEwma(value, 20, 1000, 1000)
    assert.ok(Math.abs(value - 20) < 1)
  })

  test('stays between the smallest and largest sample', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 1, max: 1000, noNaN: true }), fc.integer({ min: 0, max: 5000 })), {
          minLength: 1,
        }),
        (samples) => {
          let value: number | undefined
          for (const [sample, elapsed] of samples) value = updatePeakEwma(value, sample, elapsed, 500)
          const values = samples.map(([s]) => s)
          assert.ok(value! >= Math.min(...values) - 1e-9 && value! <= Math.max(...values) + 1e-9)
        },
      ),
    )
  })
})

describe('ReplicaPool', () => {
  test('an ejected, not-ready or draining replica is never a candidate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ready: fc.boolean(), ejected: fc.boolean(), listed: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        (specs) => {
          const pool = new ReplicaPool(poolOptions)
          const urls = specs.map((_, i) => `http://127.0.0.1:${10_000 + i}`)
          pool.setTargets(urls)
          specs.forEach((spec, i) => {
            const replica = pool.get(urls[i]!)!
            if (spec.ready) pool.recordProbe(replica, 'ready')
            if (spec.ejected) {
              // A refused connection ejects at once.
              pool.beginAttempt(replica)
              pool.endAttempt(replica, { outcome: 'refused' })
            }
            if (!spec.listed) pool.beginAttempt(replica) // a draining replica with work in flight stays until it is done
          })
          pool.setTargets(urls.filter((_, i) => specs[i]!.listed))
          const ids = new Set(pool.candidates(new Set()).map((c) => c.id))
          for (const [i, spec] of specs.entries()) {
            assert.equal(ids.has(urls[i]!), spec.ready && !spec.ejected && spec.listed)
          }
          void pool.close()
        },
      ),
    )
  })

  test('a replica discovery drops leaves once its last request is done', async () => {
    const pool = new ReplicaPool(poolOptions)
    pool.setTargets(['http://127.0.0.1:1', 'http://127.0.0.1:2'])
    const leaving = pool.get('http://127.0.0.1:2')!
    pool.beginAttempt(leaving)
    pool.setTargets(['http://127.0.0.1:1'])
    assert.equal(pool.all.length, 2)
    assert.equal(pool.get('http://127.0.0.1:2')!.draining, true)
    pool.endAttempt(leaving, { outcome: 'success', upstreamMs: 20 })
    assert.deepEqual(
      pool.all.map((r) => r.url),
      ['http://127.0.0.1:1'],
    )
    await pool.close()
  })

  test('a load report below capacity still says change when it expires (late binding may be waiting on it)', async () => {
    // Four slots, three reported by the last answer: not full, but a job may wait for this replica to free (it is
    // the faster one). Once the answers are in, only the report's expiry can wake that job.
    const { pool, replica } = poolOfOneReady(4)
    pool.beginAttempt(replica)
    pool.endAttempt(replica, { outcome: 'success', upstreamMs: 20, inflight: 4 })
    await once(pool, 'change')
    assert.equal(replica.load(Date.now()), 0, 'the report had expired when the pool said so')
    await pool.close()
  })

  test("the replica's view shows what it reported and its refusal while they count, and nothing after", async () => {
    const { pool, replica } = poolOfOneReady(2)
    const before = Date.now()
    assert.deepEqual(pick(replica.snapshot(before)), { reported_inflight: null, refusing: false })
    pool.beginAttempt(replica)
    pool.endAttempt(replica, { outcome: 'full', inflight: 5, freeInMs: 40 })
    assert.deepEqual(pick(replica.snapshot(before)), { reported_inflight: 5, refusing: true })
    assert.deepEqual(pick(replica.snapshot(before + 60_000)), { reported_inflight: null, refusing: false })
    // An answer replaces the refusal: the replica counted the request it answered, so it holds one less.
    pool.beginAttempt(replica)
    pool.endAttempt(replica, { outcome: 'success', upstreamMs: 20, inflight: 3 })
    assert.deepEqual(pick(replica.snapshot(before)), { reported_inflight: 2, refusing: false })
    await pool.close()
  })

  test('the pool announces every routability change once, with its cause; freed slots say change', () => {
    const pool = new ReplicaPool(poolOptions)
    pool.setTargets(['http://127.0.0.1:1'])
    const replica = pool.get('http://127.0.0.1:1')!
    const events: string[] = []
    pool.on('routability', (r, routable, cause) => events.push(`${r.url} ${routable} ${cause}`))
    pool.on('change', () => events.push('change'))
    pool.recordProbe(replica, 'ready')
    pool.recordProbe(replica, 'ready')
    for (let i = 0; i < 3; i++) {
      pool.beginAttempt(replica)
      pool.endAttempt(replica, { outcome: 'failure' })
    }
    assert.deepEqual(events, [
      'http://127.0.0.1:1 true probe',
      'change',
      'change',
      'change',
      'http://127.0.0.1:1 false attempt',
      'change',
    ])
    const [view] = pool.snapshot()
    assert.equal(view!.ejected, true)
    assert.equal(view!.failures, 3)
    assert.equal(view!.dispatched, 3)
    assert.equal(view!.outstanding, 0)
    assert.ok(view!.ejected_until !== null && Date.parse(view!.ejected_until) > Date.now())
    void pool.close()
  })
})

function pick({ reported_inflight, refusing }: { reported_inflight: number | null; refusing: boolean }) {
  return { reported_inflight, refusing }
}

/** A pool of one ready replica with `slotsPerReplica` slots. */
function poolOfOneReady(slotsPerReplica: number) {
  const pool = new ReplicaPool({ ...poolOptions, slotsPerReplica })
  pool.setTargets(['http://127.0.0.1:1'])
  const replica = pool.get('http://127.0.0.1:1')!
  pool.recordProbe(replica, 'ready')
  return { pool, replica }
}
