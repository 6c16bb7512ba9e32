import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { createRandom } from '../../common/random.ts'
import { type Candidate, candidate as candidateOf } from '../src/balancing/candidate.ts'
import {
  pickLeastOutstanding,
  pickRandom,
  pickRoundRobin,
  ROUTING_POLICIES,
  type RoutingState,
} from '../src/balancing/policies.ts'

const candidate = fc
  .record({
    id: fc.uuid(),
    load: fc.integer({ min: 0, max: 11 }),
    slots: fc.integer({ min: 1, max: 4 }),
    latencyMs: fc.double({ min: 1, max: 2000, noNaN: true }),
  })
  .map(({ id, load, slots, latencyMs }) => candidateOf(id, load, slots, latencyMs))
const candidates = fc.uniqueArray(candidate, { minLength: 1, maxLength: 40, selector: (c) => c.id })
const state = (seed: number): RoutingState => ({ random: createRandom(seed), cursor: Math.abs(seed) % 7 })
const hasFreeSlot = (c: Candidate) => c.load < c.slots

describe('routing policies', () => {
  test('least-outstanding: a replica with a free slot is always chosen before a full one', () => {
    fc.assert(
      fc.property(candidates, fc.integer(), (list, seed) => {
        const chosen = pickLeastOutstanding(list, state(seed))
        assert.ok(chosen, 'something is chosen from a non-empty list')
        assert.ok(list.includes(chosen))
        if (list.some(hasFreeSlot)) assert.ok(hasFreeSlot(chosen), `${JSON.stringify(chosen)} is full`)
      }),
    )
  })

  for (const [name, { pick: policy }] of Object.entries(ROUTING_POLICIES)) {
    test(`${name}: always picks one of the candidates`, () => {
      fc.assert(
        fc.property(candidates, fc.integer(), (list, seed) => {
          assert.ok(list.includes(policy(list, state(seed))!))
        }),
      )
    })

    test(`${name}: over many picks on equal replicas the spread is even`, () => {
      const equal = Array.from({ length: 5 }, (_, i) => candidateOf(`r${i}`, 0, 1, 30))
      const counts = new Map<string, number>()
      const s = state(7)
      for (let i = 0; i < 10_000; i++) {
        const chosen = policy(equal, s)!
        counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1)
      }
      for (const replica of equal) {
        const share = (counts.get(replica.id) ?? 0) / 10_000
        assert.ok(Math.abs(share - 0.2) < 0.02, `${replica.id} got ${share}`)
      }
    })

    test(`${name}: nothing to choose from → undefined`, () => {
      assert.equal(policy([], state(1)), undefined)
    })
  }

  test('least-outstanding prefers the idle replica, then the faster one', () => {
    const s = state(3)
    const busy = candidateOf('busy', 1, 2, 30)
    const idle = candidateOf('idle', 0, 2, 30)
    assert.equal(pickLeastOutstanding([busy, idle], s)?.id, 'idle')
    const slow = candidateOf('slow', 0, 1, 150)
    const fast = candidateOf('fast', 0, 1, 30)
    for (let i = 0; i < 100; i++) assert.equal(pickLeastOutstanding([slow, fast], s)?.id, 'fast')
  })

  test('least-outstanding counts load other gateways put on a replica', () => {
    const s = state(4)
    // None of ours in flight there, one of another gateway's: its load is 1 all the same.
    const shared = candidateOf('shared', 1, 2, 30)
    const quiet = candidateOf('quiet', 0, 2, 30)
    assert.equal(pickLeastOutstanding([shared, quiet], s)?.id, 'quiet')
  })

  test('least-outstanding on a large pool (power of two choices) never picks the single worst replica', () => {
    fc.assert(
      fc.property(fc.integer({ min: 9, max: 50 }), fc.integer(), (size, seed) => {
        const list = Array.from({ length: size }, (_, i) => candidateOf(`r${i}`, 0, 1, 10 + i))
        // Two distinct replicas are compared, so the most expensive one can never win.
        assert.notEqual(pickLeastOutstanding(list, state(seed))!.id, `r${size - 1}`)
      }),
    )
  })

  test('round-robin rotates in a stable order, blind to load (a baseline)', () => {
    const s: RoutingState = { random: createRandom(1), cursor: 0 }
    const list = ['c', 'a', 'b'].map((id) => candidateOf(id, 0, 1, 10))
    assert.deepEqual(
      [1, 2, 3, 4].map(() => pickRoundRobin(list, s)?.id),
      ['a', 'b', 'c', 'a'],
    )
    list[1] = candidateOf('a', 5, 1, 10)
    assert.deepEqual(
      [1, 2, 3].map(() => pickRoundRobin(list, s)?.id),
      ['b', 'c', 'a'],
    )
  })

  test('random is blind to load (a baseline)', () => {
    const s = state(9)
    const list = [candidateOf('full', 9, 1, 10), candidateOf('free', 0, 1, 10)]
    const picks = Array.from({ length: 400 }, () => pickRandom(list, s)?.id)
    assert.ok(picks.filter((id) => id === 'full').length > 150)
  })

  test('only least-outstanding is load-aware (binds late); the others are plain-proxy baselines', () => {
    assert.deepEqual(
      Object.entries(ROUTING_POLICIES).map(([name, p]) => [name, p.loadAware]),
      [
        ['least-outstanding', true],
        ['round-robin', false],
        ['random', false],
      ],
    )
  })
})
