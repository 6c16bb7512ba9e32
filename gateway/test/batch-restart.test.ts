import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { call, postJson } from '../../common/http/call.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { type ServiceProcess, spawnReplica, spawnService } from '../../common/service-process.ts'
import { BatchStore } from '../src/batch/batch-store.ts'
import { freshDataDir } from './helpers.ts'

const LIMIT = 150

interface Gateway extends ServiceProcess {
  /** Resolves once this gateway has recorded `count` batch images. */
  recorded(count: number): Promise<void>
  finished: Promise<void>
}

/**
 * Durability: a gateway process killed (SIGKILL) or stopped (SIGTERM) in the middle of a batch job leaves it to the
 * next gateway on the same data directory, which evaluates only the images not yet recorded, so none counts twice.
 */
describe('a batch job survives its gateway', () => {
  let replica: ServiceProcess
  const dataDir = freshDataDir()

  before(async () => {
    replica = await spawnReplica()
  })
  after(async () => {
    replica.child.kill('SIGTERM')
    await replica.exited
  })

  const startGateway = async (): Promise<Gateway> => {
    let images = 0
    const waiting: { count: number; resolve: () => void }[] = []
    const finished = Promise.withResolvers<void>()
    const gateway = await spawnService('gateway', {
      args: [
        ...['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none', '--log-format', 'json'],
        ...['--data-dir', dataDir, '--health-interval-ms', '50', '--batch-concurrency', '2', '--log-level', 'debug'],
      ],
      onLog: (line) => {
        if (line.includes('"batch image done"')) {
          images++
          for (const w of waiting.filter((w) => images >= w.count)) w.resolve()
        }
        if (line.includes('"batch finished"')) finished.resolve()
      },
    })
    const recorded = (count: number) =>
      images >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ count, resolve }))
    return { ...gateway, recorded, finished: finished.promise }
  }

  const dispatchedBy = async (gateway: ServiceProcess) => {
    const text = String((await call(`${gateway.url}/metrics`)).body)
    return metric(text, `gateway_dispatched_total{replica="${replica.url}"}`) - metric(text, 'gateway_retries_total')
  }

  test('killed, then stopped, mid-job: the job resumes twice and every image is counted exactly once', async () => {
    const first = await startGateway()
    const created = await postJson(`${first.url}/batch`, {
      model: 'darknet-tiny',
      dataset: 'imagenet-sample',
      limit: LIMIT,
    })
    assert.equal(created.status, 202)
    const id: string = created.body.id
    await first.recorded(30)
    first.child.kill('SIGKILL')
    await first.exited

    const atKill = new BatchStore(dataDir)
    assert.equal(atKill.get(id)!.status, 'running')
    const doneByFirst = atKill.progress(id).done
    atKill.close()
    assert.ok(doneByFirst >= 30 && doneByFirst < LIMIT, String(doneByFirst))

    const second = await startGateway()
    await second.recorded(30)
    const sentBySecond = await dispatchedBy(second)
    second.child.kill('SIGTERM')
    assert.equal(await second.exited, 0)
    const atStop = new BatchStore(dataDir)
    assert.equal(atStop.get(id)!.status, 'running', 'a stopped gateway leaves the job to the next one')
    const doneBySecond = atStop.progress(id).done - doneByFirst
    atStop.close()
    assert.ok(doneBySecond >= 30 && doneByFirst + doneBySecond < LIMIT, String(doneBySecond))
    // Each image the second gateway sent is one the first had not recorded (those in flight at the stop are withdrawn).
    assert.ok(sentBySecond >= 30 && sentBySecond <= doneBySecond + 2, `${sentBySecond} sent, ${doneBySecond} recorded`)

    const third = await startGateway()
    await third.finished
    const job = (await call(`${third.url}/batch/${id}`)).body
    assert.equal(job.status, 'succeeded', JSON.stringify(job))
    assert.equal(job.runs, 3)
    assert.deepEqual(job.progress, { total: LIMIT, done: LIMIT, errors: 0, fraction: 1 })
    assert.equal(job.results.images, LIMIT)
    assert.equal(job.results.evaluated, LIMIT)
    assert.equal(
      await dispatchedBy(third),
      LIMIT - doneByFirst - doneBySecond,
      'the third gateway sent only the images not yet recorded',
    )
    third.child.kill('SIGTERM')
    assert.equal(await third.exited, 0)

    const store = new BatchStore(dataDir)
    const items = store.items(id)
    store.close()
    assert.deepEqual(
      items.map((item) => item.image),
      sampleImages()
        .slice(0, LIMIT)
        .map((image) => image.name),
      'every image of the job once, no other',
    )
    const byRun = [1, 2, 3].map((run) => items.filter((item) => item.run === run).length)
    assert.deepEqual(byRun, [doneByFirst, doneBySecond, LIMIT - doneByFirst - doneBySecond])
  })
})
