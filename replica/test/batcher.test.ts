import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { MicroBatcher } from '../src/batcher.ts'
import { DroppedWork } from '../src/dropped-work.ts'

/** A model stand-in whose batches finish only when the test says so. */
function controllableModel() {
  const batches: { inputs: number[]; finish: () => void; fail: (e: Error) => void }[] = []
  const waiters: (() => void)[] = []
  const runBatch = (inputs: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({ inputs, finish: () => resolve(inputs.map((x) => x * 10)), fail: reject })
      for (const w of waiters.splice(0)) w()
    })
  const nextBatch = async (index: number) => {
    while (batches.length <= index) await new Promise<void>((r) => waiters.push(r))
    return batches[index]!
  }
  return { batches, runBatch, nextBatch }
}

describe('MicroBatcher', () => {
  test('arrivals during a running batch leave together, at most maxBatchSize at a time, results to the right caller', async () => {
    const model = controllableModel()
    const batcher = new MicroBatcher({ maxBatchSize: 4, maxWaitMs: 0, runBatch: model.runBatch })
    const first = batcher.submit(1)
    const running = await model.nextBatch(0)
    assert.deepEqual(running.inputs, [1])
    const rest = [2, 3, 4, 5, 6, 7].map((x) => batcher.submit(x))
    assert.equal(batcher.waiting, 6)
    assert.equal(batcher.running, 1)
    running.finish()
    assert.equal((await first).output, 10)
    const second = await model.nextBatch(1)
    assert.deepEqual(second.inputs, [2, 3, 4, 5])
    second.finish()
    const third = await model.nextBatch(2)
    assert.deepEqual(third.inputs, [6, 7])
    third.finish()
    const results = await Promise.all(rest)
    assert.deepEqual(
      results.map((r) => r.output),
      [20, 30, 40, 50, 60, 70],
    )
    assert.deepEqual(
      results.map((r) => r.batchSize),
      [4, 4, 4, 4, 2, 2],
    )
    await batcher.idle()
  })

  test('an idle model waits up to maxWaitMs for company, and no longer once the batch is full', async () => {
    const model = controllableModel()
    const batcher = new MicroBatcher({ maxBatchSize: 3, maxWaitMs: 60_000, runBatch: model.runBatch })
    const submitted = [batcher.submit(1), batcher.submit(2)]
    assert.equal(model.batches.length, 0, 'two requests wait for a third')
    submitted.push(batcher.submit(3))
    const batch = await model.nextBatch(0)
    assert.deepEqual(batch.inputs, [1, 2, 3])
    batch.finish()
    await Promise.all(submitted)
  })

  test('a lone request runs when maxWaitMs expires', async () => {
    const model = controllableModel()
    const batcher = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 5, runBatch: model.runBatch })
    const result = batcher.submit(7)
    const batch = await model.nextBatch(0)
    assert.deepEqual(batch.inputs, [7])
    batch.finish()
    assert.ok((await result).queueMs >= 4)
  })

  test('a request whose deadline passed while waiting is rejected and never reaches the model', async () => {
    let now = 0
    const model = controllableModel()
    const batcher = new MicroBatcher({ maxBatchSize: 4, maxWaitMs: 0, runBatch: model.runBatch, now: () => now })
    const first = batcher.submit(1)
    const running = await model.nextBatch(0)
    const expiring = batcher.submit(2, 50)
    const patient = batcher.submit(3, 500)
    now = 100
    running.finish()
    await assert.rejects(
      expiring,
      (e: unknown) => e instanceof DroppedWork && e.code === 'deadline_exceeded' && e.stage === 'inference',
    )
    const next = await model.nextBatch(1)
    assert.deepEqual(next.inputs, [3])
    next.finish()
    await Promise.all([first, patient])
  })

  test('aborting a waiting request removes it; the batch goes on without it', async () => {
    const model = controllableModel()
    const batcher = new MicroBatcher({ maxBatchSize: 4, maxWaitMs: 0, runBatch: model.runBatch })
    const first = batcher.submit(1)
    const running = await model.nextBatch(0)
    const controller = new AbortController()
    const abandoned = batcher.submit(2, Number.POSITIVE_INFINITY, controller.signal)
    const kept = batcher.submit(3)
    controller.abort()
    await assert.rejects(
      abandoned,
      (e: unknown) => e instanceof DroppedWork && e.code === 'client_closed' && e.stage === 'inference',
    )
    running.finish()
    const next = await model.nextBatch(1)
    assert.deepEqual(next.inputs, [3])
    next.finish()
    await Promise.all([first, kept])
  })

  test('a failed batch rejects its members only; the next batch still runs', async () => {
    const model = controllableModel()
    const batcher = new MicroBatcher({ maxBatchSize: 1, maxWaitMs: 0, runBatch: model.runBatch })
    const doomed = batcher.submit(1)
    const fine = batcher.submit(2)
    ;(await model.nextBatch(0)).fail(new Error('boom'))
    await assert.rejects(doomed, /boom/)
    ;(await model.nextBatch(1)).finish()
    assert.equal((await fine).output, 20)
  })

  test('property: every request settles with its own result and no batch exceeds the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
        async (maxBatchSize, gaps) => {
          const sizes: number[] = []
          const batcher = new MicroBatcher<number, number>({
            maxBatchSize,
            maxWaitMs: 0,
            runBatch: async (inputs) => {
              sizes.push(inputs.length)
              await new Promise((r) => setImmediate(r))
              return inputs.map((x) => x * 2)
            },
          })
          const pending: Promise<{ output: number }>[] = []
          for (const [i, gap] of gaps.entries()) {
            for (let g = 0; g < gap; g++) await new Promise((r) => setImmediate(r))
            pending.push(batcher.submit(i))
          }
          const results = await Promise.all(pending)
          assert.deepEqual(
            results.map((r) => r.output),
            gaps.map((_, i) => i * 2),
          )
          assert.ok(sizes.every((s) => s >= 1 && s <= maxBatchSize))
          assert.equal(
            sizes.reduce((a, b) => a + b, 0),
            gaps.length,
          )
        },
      ),
      { numRuns: 50 },
    )
  })
})
