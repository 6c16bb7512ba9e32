import assert from 'node:assert/strict'
import { test } from 'node:test'
import { timerAt } from '../timer-at.ts'

test('timerAt calls back only once its clock has reached the time, however early a timer fires by that clock', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let now = 1000.4
  const calls: number[] = []
  timerAt(
    1300.4,
    () => now,
    () => calls.push(now),
  )
  // The timer fires after its 300 ms, but by this clock only 299.6 have passed (the loop's clock runs in whole ms).
  now = 1300
  t.mock.timers.tick(300)
  assert.deepEqual(calls, [], 'not before its time by its own clock')
  now = 1300.4
  t.mock.timers.tick(1)
  assert.deepEqual(calls, [1300.4])
})

test('a cancelled timerAt never calls back, also after it has re-armed', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let now = 0
  let called = false
  const timer = timerAt(
    100,
    () => now,
    () => (called = true),
  )
  now = 99
  t.mock.timers.tick(100)
  timer.cancel()
  now = 200
  t.mock.timers.tick(1000)
  assert.equal(called, false)
})
