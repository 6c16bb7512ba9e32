import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { DroppedWork } from '../src/dropped-work.ts'
import { PreprocessSlots } from '../src/preprocess-slots.ts'

const dropped = (reason: string) => (error: unknown) =>
  error instanceof DroppedWork && error.stage === 'preprocess' && error.code === reason

describe('PreprocessSlots', () => {
  test('grants at most `slots` at once, the others in arrival order as slots are given back', async () => {
    const slots = new PreprocessSlots(2)
    const first = await slots.acquire()
    const second = await slots.acquire()
    const order: number[] = []
    const later = [3, 4, 5].map(async (n) => {
      const release = await slots.acquire()
      order.push(n)
      return release
    })
    assert.equal(slots.busy, 2)
    assert.equal(slots.waiting, 3)
    first()
    first() // a second release gives nothing back twice
    const third = await later[0]!
    assert.equal(slots.busy, 2)
    assert.equal(slots.waiting, 2)
    second()
    third()
    for (const release of await Promise.all(later.slice(1))) release()
    assert.deepEqual(order, [3, 4, 5])
    assert.equal(slots.busy, 0)
    assert.equal(slots.started, 5)
  })

  test('a waiter whose client goes away leaves at once and is never granted', async () => {
    const slots = new PreprocessSlots(1)
    const holder = await slots.acquire()
    const client = new AbortController()
    const gone = slots.acquire(Number.POSITIVE_INFINITY, client.signal)
    const next = slots.acquire()
    client.abort()
    await assert.rejects(gone, dropped('client_closed'))
    assert.equal(slots.waiting, 1)
    holder()
    ;(await next)()
    assert.equal(slots.started, 2)
  })

  test('a waiter whose deadline passed by its turn is dropped, and the next one gets the slot', async () => {
    let now = 0
    const slots = new PreprocessSlots(1, () => now)
    const holder = await slots.acquire()
    const expiring = slots.acquire(10)
    const patient = slots.acquire(1000)
    now = 10
    holder()
    await assert.rejects(expiring, dropped('deadline_exceeded'))
    ;(await patient)()
    assert.equal(slots.started, 2)
  })

  test('already gone or already late: refused without waiting, even with a free slot', async () => {
    const slots = new PreprocessSlots(4, () => 50)
    await assert.rejects(slots.acquire(50), dropped('deadline_exceeded'))
    await assert.rejects(slots.acquire(Number.POSITIVE_INFINITY, AbortSignal.abort()), dropped('client_closed'))
    assert.equal(slots.started, 0)
  })

  test('a holder whose client leaves while decoding keeps its slot until it gives it back', async () => {
    const slots = new PreprocessSlots(1)
    const client = new AbortController()
    const release = await slots.acquire(Number.POSITIVE_INFINITY, client.signal)
    client.abort()
    let granted = false
    const next = slots.acquire().then((r) => {
      granted = true
      return r
    })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(granted, false)
    assert.equal(slots.busy, 1)
    release()
    ;(await next)()
  })

  test('property: under any interleaving, the bound holds, grants are in arrival order and none goes to a dropped waiter', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('arrive' as const), deadline: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('release' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('abort' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('tick' as const), by: fc.integer({ min: 1, max: 10 }) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 60 }), async (size, steps) => {
        let now = 0
        const slots = new PreprocessSlots(size, () => now)
        const requests: {
          id: number
          deadline: number
          client: AbortController
          state: 'waiting' | 'granted' | 'released' | 'dropped'
          release?: () => void
          grantedAt?: number
        }[] = []
        const grants: number[] = []
        for (const s of steps) {
          if (s.kind === 'arrive') {
            const request = {
              id: requests.length,
              deadline: now + s.deadline,
              client: new AbortController(),
              state: 'waiting' as 'waiting' | 'granted' | 'released' | 'dropped',
              release: undefined as (() => void) | undefined,
              grantedAt: undefined as number | undefined,
            }
            requests.push(request)
            slots.acquire(request.deadline, request.client.signal).then(
              (release) => {
                assert.equal(request.state, 'waiting')
                assert.ok(!request.client.signal.aborted, 'granted after its client left')
                assert.ok(now < request.deadline, 'granted after its deadline')
                request.state = 'granted'
                request.release = release
                grants.push(request.id)
              },
              (error: unknown) => {
                assert.ok(error instanceof DroppedWork)
                request.state = 'dropped'
              },
            )
          } else if (s.kind === 'tick') {
            now += s.by
          } else {
            const candidates = requests.filter((r) =>
              s.kind === 'release' ? r.state === 'granted' : r.state === 'waiting' || r.state === 'granted',
            )
            const target = candidates[s.which % Math.max(1, candidates.length)]
            if (target && s.kind === 'release') {
              target.state = 'released'
              target.release!()
            } else if (target) target.client.abort()
          }
          await new Promise((resolve) => setImmediate(resolve))
          assert.ok(slots.busy <= size, `${slots.busy} busy with ${size} slots`)
          assert.equal(slots.busy, requests.filter((r) => r.state === 'granted').length)
          assert.equal(slots.started, grants.length)
        }
        // Grants follow arrival order: a later arrival is never served before an earlier one still waiting.
        assert.deepEqual(
          grants,
          [...grants].sort((a, b) => a - b),
        )
        // Free slots never sit idle while someone waits who could still be served.
        if (slots.busy < size) assert.equal(slots.waiting, 0)
      }),
    )
  })
})
