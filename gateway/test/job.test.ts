import assert from 'node:assert/strict'
import { describe, mock, test } from 'node:test'
import { Job } from '../src/queue/job.ts'

function newJob(deadline: number, clientGone = new AbortController()) {
  const job = new Job(
    {
      id: 'r1',
      body: Buffer.alloc(10),
      contentType: 'image/jpeg',
      model: undefined,
      priority: 'normal',
      deadline,
      clientGone: clientGone.signal,
    },
    0,
  )
  return { job, clientGone }
}

describe('Job: owns its lifecycle', () => {
  test('settles once: the first outcome stands', async () => {
    const { job } = newJob(1000)
    assert.equal(job.settle({ kind: 'error', code: 'queue_full', message: 'first' }), true)
    assert.equal(job.settle({ kind: 'error', code: 'internal', message: 'second' }), false)
    assert.equal(job.settled, true)
    assert.deepEqual(await job.outcome, { kind: 'error', code: 'queue_full', message: 'first' })
  })

  test('the deadline timer calls back once the time is up, and not once the job settled', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const onDeadline = mock.fn()
    const onClientGone = mock.fn()
    // One clock reading for the deadlines and the timers (only the mocked timers move time in this test), and a whole
    // one: (now + 100) − now is not exactly 100 for every fractional now, and the tick(100) below must reach it.
    const now = Math.floor(performance.now())
    const late = newJob(now + 100).job
    late.watch({ onDeadline, onClientGone }, now)
    const settled = newJob(now + 100).job
    settled.watch({ onDeadline, onClientGone }, now)
    settled.settle({ kind: 'error', code: 'client_closed', message: 'gone' })
    t.mock.timers.tick(99)
    assert.equal(onDeadline.mock.callCount(), 0)
    t.mock.timers.tick(1)
    assert.equal(onDeadline.mock.callCount(), 1)
    assert.equal(onDeadline.mock.calls[0]!.arguments[0], late)
    assert.equal(onClientGone.mock.callCount(), 0)
  })

  test('the client leaving calls back while unsettled; after settling, its listener is gone', () => {
    const onDeadline = mock.fn()
    const onClientGone = mock.fn()
    const first = newJob(performance.now() + 60_000)
    first.job.watch({ onDeadline, onClientGone })
    first.clientGone.abort()
    assert.equal(onClientGone.mock.callCount(), 1)
    first.job.settle({ kind: 'error', code: 'client_closed', message: 'gone' })

    const second = newJob(performance.now() + 60_000)
    second.job.watch({ onDeadline, onClientGone })
    second.job.settle({ kind: 'error', code: 'internal', message: 'done' })
    second.clientGone.abort()
    assert.equal(onClientGone.mock.callCount(), 1, 'no call for a settled job')
    assert.equal(onDeadline.mock.callCount(), 0)
  })

  test('each attempt adds its wait in the queue; a retry waits again from when it re-joined', () => {
    const { job } = newJob(1000)
    assert.equal(job.startAttempt(30), 30)
    job.requeue(50)
    assert.equal(job.startAttempt(65), 15)
    assert.equal(job.queueMs, 45)
    assert.equal(job.attempts, 2)
  })
})
