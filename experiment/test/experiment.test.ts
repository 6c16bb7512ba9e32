import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, rmdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { launchChromium, pageProblems } from '../../common/testing/browser.ts'
import type { SeedSummary } from '../../simulator/src/compare.ts'
import { cgroupUnavailableReason, removeStaleGroups } from '../src/cgroup.ts'
import { LocalCluster, type PodRecord } from '../src/local-cluster.ts'
import { type RealRunResult, replicaSeconds } from '../src/real-run.ts'
import { experimentHtml } from '../src/report-html.ts'
import { type PolicyOutcome, predictionMeetsTarget, predictionTable, realTable } from '../src/tables.ts'

const pod = (createdAt: number, goneAt?: number): PodRecord => ({
  name: `p${createdAt}`,
  createdAt,
  goneAt,
  cpuSeconds: 0,
  throttledSeconds: 0,
})

describe('experiment accounting and tables', () => {
  test('replica-seconds run from the decision to the exit, clipped to the run; pods still up count to its end', () => {
    // A warm pod made before the run (negative time), one that came and went, one still there at the end.
    assert.equal(replicaSeconds([pod(-8000), pod(10_000, 40_000), pod(50_000)], 60_000), 60 + 30 + 10)
  })

  test('a prediction is within target at ×2 of the violations (±0.5 points below 1 %) and 10 % of the cost', () => {
    assert.deepEqual(predictionMeetsTarget({ slow: 0.19, cost: 109 }, { slow: 0.1, cost: 100 }), {
      slowOk: true,
      costOk: true,
    })
    assert.deepEqual(predictionMeetsTarget({ slow: 0.21, cost: 89 }, { slow: 0.1, cost: 100 }), {
      slowOk: false,
      costOk: false,
    })
    assert.equal(predictionMeetsTarget({ slow: 0.004, cost: 1 }, { slow: 0.0, cost: 1 }).slowOk, true)
    assert.equal(predictionMeetsTarget({ slow: 0.006, cost: 1 }, { slow: 0.0, cost: 1 }).slowOk, false)
  })

  const run = (slowShare: number, replicaSeconds: number): RealRunResult => ({
    policy: 'custom',
    requests: 100,
    slowShare,
    failed: 0,
    statuses: { '200': 100 },
    p50Ms: 50,
    p99Ms: 300,
    replicaSeconds,
    requestedCoreSeconds: replicaSeconds * 0.6,
    nodeCoreSeconds: replicaSeconds * 0.6,
    standbySeconds: 0,
    memoryMbSeconds: replicaSeconds * 200,
    cpuSeconds: 10,
    throttledSeconds: 1,
    startupS: [],
    timeline: [0, 1].map((second) => ({
      second,
      spec: 1,
      pending: 0,
      booting: 0,
      ready: 1,
      paid: 1,
      desiredGauge: 1,
      inSystem: 0,
    })),
    p99BySecond: [120, null],
    pods: [],
  })
  const predicted: SeedSummary = {
    policy: 'custom',
    seeds: 5,
    slowShare: { mean: 0.03, min: 0.02, max: 0.04 },
    replicaSeconds: { mean: 105, min: 100, max: 110 },
    p99Ms: 280,
  }
  const outcomes: PolicyOutcome[] = [{ policy: 'custom', real: [run(0.02, 100), run(0.04, 110)], predicted }]

  test('the tables show the mean of the repeats with their range, and the prediction beside with its verdict', () => {
    const real = realTable(outcomes, 500)
    assert.match(real, /custom\s+2\s+3\.00 % \[2\.00 %–4\.00 %\]\s+105 \[100–110\]/)
    assert.match(predictionTable(outcomes), /custom\s+3\.00 % \/ 3\.00 %\s+yes\s+105 \/ 105 \(0 %\)\s+yes/)
  })

  test('the report page draws every run without an error and fetches nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-experiment-'))
    const file = join(dir, 'report.html')
    await writeFile(file, experimentHtml('title <x>', 'intro', realTable(outcomes, 500), outcomes, 500))
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      const problems = pageProblems(page, 'file:')
      await page.goto(pathToFileURL(file).href)
      assert.equal(await page.locator('.uplot').count(), 3, 'pods paid, ready pods, p99')
      assert.match((await page.locator('.uplot').first().textContent()) ?? '', /custom #2/)
      assert.deepEqual(problems, [])
    } finally {
      await browser.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

const noCgroups = cgroupUnavailableReason()

describe('a local cluster of CPU-limited replicas', { skip: noCgroups }, () => {
  test('a pod waits out its provisioning, runs in its own CPU-limited group, is listed once ready, and leaves', async () => {
    removeStaleGroups()
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cluster-'))
    const replicasFile = join(dir, 'replicas.txt')
    const cluster = new LocalCluster({
      cores: 0.5,
      provisioningMs: 300,
      replicasFile,
      replicaArgs: ['--log-level', 'warn', '--intra-op-threads', '1'],
      drainDelayMs: 0,
    })
    try {
      cluster.scaleTo(1)
      assert.deepEqual(
        cluster.pods().map((p) => p.phase),
        ['pending'],
      )
      assert.doesNotMatch(await readFile(replicasFile, 'utf8'), /http/)
      await cluster.untilReady(1)
      const [record] = cluster.records()
      assert.ok(record!.startedAt! - record!.createdAt >= 300, 'not started before its provisioning delay')
      const url = /^http:\/\/\S+$/m.exec(await readFile(replicasFile, 'utf8'))?.[0]
      assert.ok(url, 'listed for the gateway once ready')
      // Its model load and warm-up ran inside the group, at most at the quota.
      const { cpuSeconds } = cluster.pods()[0]!
      const upS = (cluster.now() - record!.startedAt!) / 1000
      assert.ok(cpuSeconds > 0 && cpuSeconds <= 0.5 * upS * 1.1 + 0.05, `${cpuSeconds} CPU s in ${upS} s`)
      cluster.scaleTo(0)
      assert.doesNotMatch(await readFile(replicasFile, 'utf8'), /http/, 'unlisted as soon as it is deleted')
    } finally {
      await cluster.close()
      await rm(dir, { recursive: true, force: true })
    }
    assert.ok(cluster.records()[0]!.goneAt !== undefined)
  })

  test("each run's groups live under its own pid: a dead run's are removed, a live run's are left alone", async () => {
    // A pid that is certainly gone: a process that has exited (and been reaped).
    const gone = spawn(process.execPath, ['-e', ''])
    await once(gone, 'exit')
    const base = '/sys/fs/cgroup/cpu/switchyard-experiment'
    const dead = join(base, String(gone.pid), 'replica-0')
    const live = join(base, String(process.pid), 'replica-test-live')
    mkdirSync(dead, { recursive: true })
    mkdirSync(live, { recursive: true })
    try {
      removeStaleGroups()
      assert.equal(existsSync(join(base, String(gone.pid))), false, "the dead run's subtree is removed")
      assert.equal(existsSync(live), true, "the running experiment's group stays")
    } finally {
      if (existsSync(live)) rmdirSync(live)
    }
  })
})
