import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { postImage } from '../../common/http/call.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import type { LocalReplicas } from '../src/discovery/local.ts'
import { routable, startTestGateway } from './helpers.ts'

const images = someSampleImages(30, 23).map((i) => i.bytes())
/** These clients wait for a queued answer (without it, admission holds them to the 500 ms SLO and refuses some). */
const WAITING = { 'x-timeout-ms': '30000' }

test('local autoscaling: a burst starts a second replica process; when it is quiet, one drains and stops, losing nothing', async () => {
  const gateway = await startTestGateway([
    ...[
      '--discovery',
      'local',
      '--local-replicas',
      '1',
      '--autoscaler',
      'local',
      '--min-replicas',
      '1',
      '--max-replicas',
      '2',
    ],
    ...['--autoscale-interval-ms', '200', '--short-window-s', '3', '--scale-down-stabilization-s', '3'],
    // The drain is the subject here, not how long an idle replica is kept for the next burst; and an SLO far above
    // a replica's service time on any machine, so the trickle below needs one replica by the M/G/c sizing too.
    ...['--scale-down-startups', '0', '--slo-ms', '3000'],
  ])
  try {
    await routable(gateway, 1)
    const local = gateway.discovery as LocalReplicas
    // Eight clients back to back on one single-slot replica: a backlog the autoscaler must answer with a second
    // replica. They keep it up until the second replica is routable, however long its start takes on this machine.
    let pressing = true
    const client = async (offset: number) => {
      const statuses: number[] = []
      for (let i = offset; pressing; i += 8) {
        statuses.push((await postImage(`${gateway.url}/predict`, images[i % images.length]!, WAITING)).status)
      }
      return statuses
    }
    const burst = Array.from({ length: 8 }, (_, offset) => client(offset))
    await routable(gateway, 2)
    assert.equal(local.count, 2)
    pressing = false

    // A trickle from now on, while the backlog drains and the autoscaler waits out the stabilisation window and
    // retires a replica: it starts while the backlog still holds two replicas, so it surely overlaps the drain.
    // A load one replica carries with room to spare (a quarter of its capacity), whatever this machine's speed.
    const trickleGapMs = () => Math.max(150, 4000 * gateway.autoscaler.status.inputs.serviceTimeS)
    const removed = once(gateway.pool, 'removed')
    const trickle: Promise<{ status: number }>[] = []
    let stop = false
    void removed.then(() => (stop = true))
    for (let i = 0; !stop; i++) {
      trickle.push(postImage(`${gateway.url}/predict`, images[i % images.length]!, WAITING))
      await Promise.race([removed, new Promise((resolve) => setTimeout(resolve, trickleGapMs()))])
    }
    assert.deepEqual(new Set((await Promise.all(burst)).flat()), new Set([200]))
    await gateway.autoscaler.settled()
    assert.equal(local.count, 1)
    assert.equal(gateway.pool.all.length, 1)
    const statuses = (await Promise.all(trickle)).map((r) => r.status)
    assert.deepEqual(
      statuses,
      statuses.map(() => 200),
      'no request lost while a replica drained and stopped',
    )
    assert.ok(statuses.length > 5)
  } finally {
    await gateway.shutdown(10_000)
  }
})
