import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { retryAfterSeconds } from '../src/admission/admission.ts'
import { DrainRate } from '../src/measurements/drain-rate.ts'

test('a busy replica finishing a job every 100 ms drains 10 per second, however recently it started', () => {
  const rate = new DrainRate(5000)
  // The case admission got wrong: three completions half a second after a start read as 0.6 per second.
  for (const t of [1000, 1100, 1200]) rate.record(t)
  assert.ok(Math.abs(rate.perSecond(1250) - 10) < 1e-9)
  for (let t = 1300; t <= 9000; t += 100) rate.record(t)
  assert.ok(
    Math.abs(rate.perSecond(9050) - 10) < 1e-9,
    'and stays 10 seconds later, with the oldest completions out of the window',
  )
})

test('nothing recent is a rate of 0; a lone completion counts over the window', () => {
  const rate = new DrainRate(5000)
  assert.equal(rate.perSecond(0), 0)
  rate.record(100)
  assert.equal(rate.perSecond(200), 0.2)
  assert.equal(rate.perSecond(5200), 0, 'forgotten after the window')
  for (const t of [6000, 6000, 6000, 6000]) rate.record(t)
  assert.equal(rate.perSecond(6010), 0.8, 'a batch answered at one instant gives no pace: counted over the window')
})

test('the pace is unknown until two completions at different instants', () => {
  const rate = new DrainRate(5000)
  assert.equal(rate.pace(0), undefined)
  rate.record(100)
  rate.record(100)
  assert.equal(rate.pace(150), undefined, 'one answer, or a batch at one instant, is no pace')
  rate.record(350)
  assert.equal(rate.pace(400), 8, 'two more completions in 250 ms')
  assert.equal(rate.pace(5200), undefined, 'forgotten after the window')
})

test('Retry-After: the queue ahead at the current pace, between 1 and the cap; 2 s when nothing is known', () => {
  const rate = new DrainRate(5000)
  assert.equal(retryAfterSeconds(10, rate.perSecond(0)), 2)
  for (let t = 0; t <= 1000; t += 250) rate.record(t)
  assert.equal(retryAfterSeconds(20, rate.perSecond(1000)), 5)
  assert.equal(retryAfterSeconds(1, rate.perSecond(1000)), 1)
  assert.equal(retryAfterSeconds(1000, rate.perSecond(1000)), 30)
})

test('property: evenly spaced completions give 1000 / spacing per second, also beyond what the ring holds', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 200 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 0, max: 100_000 }),
      (count, spacingMs, start) => {
        const rate = new DrainRate(10 * 60_000)
        for (let i = 0; i < count; i++) rate.record(start + i * spacingMs)
        const measured = rate.perSecond(start + (count - 1) * spacingMs)
        assert.ok(Math.abs(measured - 1000 / spacingMs) < 1e-6 * (1000 / spacingMs), `${measured}`)
      },
    ),
  )
})
