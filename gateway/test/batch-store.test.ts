import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BatchStore } from '../src/batch/batch-store.ts'
import { freshDataDir } from './helpers.ts'

const ok = (image: string) => ({
  image,
  truth: 'tench',
  ok: true as const,
  label: 'tench',
  top5: ['tench'],
  latencyMs: 5,
  queueMs: 1,
})

describe('BatchStore', () => {
  test('an image is recorded once; a reopened store sees the jobs, their outcomes and the order to resume them', () => {
    const dir = freshDataDir()
    const store = new BatchStore(dir)
    const job = (id: string, images: string[]) => ({
      id,
      model: 'm',
      dataset: 'd',
      limit: null,
      images,
      createdAt: 'now',
    })
    store.insert(job('first', ['a', 'b', 'c']))
    store.insert(job('second', ['a']))
    store.insert(job('third', ['a']))
    assert.deepEqual(store.unfinished(), ['first', 'second', 'third'])
    assert.equal(store.beginRun('second', 't0'), 1)
    assert.equal(store.recordItem('second', 1, ok('a'), 10), true)
    assert.equal(store.recordItem('second', 1, ok('a'), 20), false, 'the same image is not recorded twice')
    assert.equal(
      store.recordItem('first', 1, { image: 'b', truth: undefined, ok: false, errorCode: 'invalid_image' }, 5),
      true,
    )
    store.close()

    const reopened = new BatchStore(dir)
    assert.deepEqual(reopened.unfinished(), ['second', 'first', 'third'], 'a started job resumes first')
    assert.deepEqual([...reopened.doneImages('second')], ['a'])
    assert.deepEqual(reopened.progress('first'), { done: 1, errors: 1 })
    assert.equal(reopened.get('second')!.runningMs, 20)
    assert.equal(reopened.beginRun('second', 't1'), 2)
    assert.equal(reopened.get('second')!.startedAt, 't0', 'the first start stays')
    assert.deepEqual(reopened.items('second'), [{ ...ok('a'), run: 1 }])
    const results = { images: 1 } as never
    assert.equal(reopened.finish('second', { status: 'succeeded', results }, 't2'), true)
    assert.equal(reopened.finish('second', { status: 'cancelled' }, 't3'), false, 'an ended job stays ended')
    assert.equal(reopened.latestSucceeded({ model: 'm', dataset: 'd', limit: null })?.id, 'second')
    assert.equal(reopened.latestSucceeded({ model: 'm', dataset: 'd', limit: 5 }), undefined)
    assert.deepEqual(reopened.unfinished(), ['first', 'third'])
    reopened.close()
  })
})
