import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { cgroupUnavailableReason, removeStaleGroups } from '../src/cgroup.ts'
import { LocalCluster } from '../src/local-cluster.ts'

/** Polls `check` until it holds (generous deadline: a busy machine boots replicas slowly; no timing is asserted). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const listed = async (file: string) => (await readFile(file, 'utf8')).match(/^http:\/\/\S+$/gm) ?? []

describe('warm standbys in the local cluster', { skip: cgroupUnavailableReason() }, () => {
  test('a standby boots, waits unlisted at the standby quota, and is promoted by raising its quota, then listed', async () => {
    removeStaleGroups()
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-standby-'))
    const replicasFile = join(dir, 'replicas.txt')
    const cluster = new LocalCluster({
      cores: 0.5,
      provisioningMs: 0,
      replicasFile,
      replicaArgs: ['--log-level', 'warn', '--intra-op-threads', '1'],
      drainDelayMs: 0,
      standby: { cores: 0.05, resizeDelayMs: 100 },
    })
    try {
      cluster.scaleTo(1, 1)
      await cluster.untilReady(2)
      await until('the standby is held at 0.05 cores', () => cluster.standbys()[0]?.cores === 0.05)
      const [standby] = cluster.standbys()
      assert.equal((await listed(replicasFile)).length, 1, 'the standby is not routed to')
      assert.deepEqual(
        cluster.pods().map((p) => p.name),
        ['replica-0'],
        'controllers see serving pods only',
      )

      // Scale up: the standby is promoted (no new serving pod is ordered), and a new pod refills the pool.
      cluster.scaleTo(2, 1)
      await until('the promoted standby is listed', async () => (await listed(replicasFile)).length === 2)
      assert.equal(
        cluster.standbys().find((s) => s.name === standby!.name),
        undefined,
        'no longer a standby',
      )
      assert.deepEqual(
        cluster.pods().map((p) => p.name),
        ['replica-0', standby!.name],
        'serving now',
      )
      assert.equal(cluster.standbys().length, 1, 'a new pod refills the standby pool')
      assert.equal(cluster.standbys()[0]!.name, 'replica-2')
      const record = cluster.standbyRecords().find((r) => r.name === standby!.name)!
      assert.equal(record.promotions, 1)
      assert.ok(record.standbySeconds > 0)

      // Scale down into a short pool: a serving pod is demoted (unlisted, quota lowered), not deleted.
      cluster.scaleTo(1, 2)
      await until('the newest serving pod is demoted to 0.05 cores', () =>
        cluster.standbys().some((s) => s.name === standby!.name && s.cores === 0.05),
      )
      assert.equal((await listed(replicasFile)).length, 1)
      assert.equal(cluster.pods().length, 1)
      assert.ok(cluster.residentMb() > 0, 'memory of the running replicas is read')
    } finally {
      await cluster.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
