import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { erlangC, replicasForWaitTail, waitTail } from '../src/autoscale/erlang-c.ts'

test('Erlang C: textbook values, and the edges (no load, a full pool)', () => {
  assert.ok(Math.abs(erlangC(1, 0.5) - 0.5) < 1e-12, 'M/M/1: P(wait) = ρ')
  assert.ok(Math.abs(erlangC(2, 1) - 1 / 3) < 1e-12)
  assert.equal(erlangC(3, 0), 0)
  assert.equal(erlangC(3, 3), 1)
  // M/M/1 at ρ = 0.5, S = 100 ms: P(W > t) = ρ·e^{−(μ−λ)t} = 0.5·e^{−5·0.2}.
  assert.ok(Math.abs(waitTail(1, 0.5, 0.1, 0.2) - 0.5 * Math.exp(-1)) < 1e-12)
})

test('sizing for the SLO: 40 ms requests at 34 req/s need 2 replicas, 126 ms ones at 16 req/s need 4', () => {
  // The README's two cases: the canonical plateau on whole-core replicas, and the experiment's 0.6-core ones.
  assert.equal(replicasForWaitTail(34 * 0.04, 0.04, 0.5 - 0.04, 0.01, 1, 1, 50), 2)
  assert.equal(replicasForWaitTail(16 * 0.126, 0.126, 0.5 - 0.126, 0.01, 1, 1, 50), 4)
  assert.equal(replicasForWaitTail(1e6, 0.1, 0.4, 0.01, 1, 1, 7), 7, 'never above the most')
})

test('more load never asks for fewer replicas; more slots never for more; the answer meets the share (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.001, max: 200, noNaN: true }),
      fc.double({ min: 0, max: 50, noNaN: true }),
      fc.double({ min: 0.005, max: 0.4, noNaN: true }),
      fc.constantFrom(0.1, 0.01, 0.001),
      fc.integer({ min: 1, max: 4 }),
      (load, more, serviceS, share, slots) => {
        const budget = 0.5 - serviceS
        const n = replicasForWaitTail(load, serviceS, budget, share, slots, 1, 1000)
        assert.ok(n >= 1 && n <= 1000)
        assert.ok(replicasForWaitTail(load + more, serviceS, budget, share, slots, 1, 1000) >= n)
        assert.ok(replicasForWaitTail(load, serviceS, budget, share, slots + 1, 1, 1000) <= n)
        if (n < 1000) assert.ok(waitTail(n * slots, load, serviceS, budget) <= share)
        if (n > 1) assert.ok(waitTail((n - 1) * slots, load, serviceS, budget) > share)
      },
    ),
  )
})

test('M/G/c by Allen–Cunneen: cs² = 1 is M/M/c; constant service waits half as long, so the tail is its square', () => {
  // P(W > t) = C·e^{−(c−a)t/(S·(1+cs²)/2)}: with cs² = 0 the exponent doubles.
  const mm = waitTail(2, 1.5, 0.04, 0.2)
  assert.equal(waitTail(2, 1.5, 0.04, 0.2, 1), mm)
  const c = erlangC(2, 1.5)
  assert.ok(Math.abs(waitTail(2, 1.5, 0.04, 0.2, 0) - c * (mm / c) ** 2) < 1e-15)
  // 100 ms requests at a quarter of one replica, 400 ms to wait: M/M/1 asks for a second replica at a 0.1 % tail
  // (0.25·e^{−3} = 1.2 %), near-constant service (cs² = 0.03) does not (0.25·e^{−5.8} = 0.08 %).
  assert.equal(replicasForWaitTail(0.25, 0.1, 0.4, 0.001, 1, 1, 10), 2)
  assert.equal(replicasForWaitTail(0.25, 0.1, 0.4, 0.001, 1, 1, 10, 0.03), 1)
})

test('less variable service never asks for more replicas (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.001, max: 200, noNaN: true }),
      fc.double({ min: 0.005, max: 0.4, noNaN: true }),
      fc.double({ min: 0, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 4, noNaN: true }),
      fc.constantFrom(0.1, 0.01, 0.001),
      (load, serviceS, cv2, more, share) => {
        const budget = 0.5 - serviceS
        const steady = replicasForWaitTail(load, serviceS, budget, share, 1, 1, 1000, cv2)
        assert.ok(replicasForWaitTail(load, serviceS, budget, share, 1, 1, 1000, cv2 + more) >= steady)
        if (steady < 1000) assert.ok(waitTail(steady, load, serviceS, budget, cv2) <= share)
      },
    ),
  )
})
