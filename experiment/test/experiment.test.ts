import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, rmdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import fc from 'fast-check'
import { launchChromium, pageProblems } from '../../common/testing/browser.ts'
import type { SeedSummary } from '../../simulator/src/compare.ts'
import { bootLimitCores, lowersOnReady } from '../src/boot-boost.ts'
import { cgroupUnavailableReason, removeStaleGroups } from '../src/cgroup.ts'
import { LocalCluster, type PodRecord } from '../src/local-cluster.ts'
import { type RealRunResult, replicaSeconds } from '../src/real-run.ts'
import { experimentHtml } from '../src/report-html.ts'
import { STARTUP_PHASES, startupPhases } from '../src/startup-phases.ts'
import { type PolicyOutcome, predictionMeetsTarget, predictionTable, realTable, startupTable } from '../src/tables.ts'

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
    // After a 20 s warm-up only the measured 40 s count: the one that came and went is there for 20 of them.
    assert.equal(replicaSeconds([pod(-8000), pod(10_000, 40_000), pod(50_000)], 60_000, 20_000), 40 + 20 + 10)
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

  const run = (slowShare: number, replicaSeconds: number, degradedShare = 0): RealRunResult => ({
    policy: 'custom',
    requests: 100,
    slowShare,
    failed: 0,
    statuses: { '200': 100 },
    degradedShare,
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
    degradedShare: { mean: 0.01, min: 0.005, max: 0.015 },
  }
  const outcomes: PolicyOutcome[] = [
    { policy: 'custom', real: [run(0.02, 100, 0.01), run(0.04, 110, 0.03)], predicted },
  ]

  test('the tables show the mean of the repeats with their range, and the prediction beside with its verdict', () => {
    const real = realTable(outcomes, 500)
    assert.match(real, /custom\s+2\s+3\.00 % \[2\.00 %–4\.00 %\]\s+105 \[100–110\]/)
    assert.match(predictionTable(outcomes), /custom\s+3\.00 % \/ 3\.00 %\s+yes\s+105 \/ 105 \(0 %\)\s+yes/)
    // Brownout's answers by a fallback, apart: the repeats' mean with its range, and predicted beside real.
    assert.match(real, /degraded\n.*\s2\.00 % \[1\.00 %–3\.00 %\]$/)
    assert.match(predictionTable(outcomes), /1\.00 % \/ 2\.00 %$/)
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

describe('start-up CPU boost and breakdown', () => {
  test('a pod boots at the boost limit (never below its own) when it is on, at its own when off, and is lowered only if it booted above', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 8, noNaN: true }),
        fc.double({ min: 0.05, max: 8, noNaN: true }),
        fc.boolean(),
        (cores, bootCores, enabled) => {
          const boot = bootLimitCores(cores, { enabled, bootCores })
          assert.ok(boot >= cores)
          assert.equal(boot, enabled ? Math.max(cores, bootCores) : cores)
          assert.equal(lowersOnReady(cores, boot), enabled && bootCores > cores)
        },
      ),
    )
  })

  const booted: PodRecord = {
    name: 'replica-1',
    createdAt: 1000,
    startedAt: 11_000,
    readyAt: 11_800,
    readyAnsweredAt: 11_830,
    processSpawnMs: 5,
    cpuSeconds: 1,
    throttledSeconds: 0,
    bootCores: 2,
    boostEndedAt: 11_800,
    startup: {
      process_ms: 40,
      imports_ms: 300,
      model_load_ms: 100,
      runtime_ms: 80,
      session_ms: 120,
      engines_ms: 150,
      server_ms: 120,
      warmup_ms: 40,
      total_ms: 760,
      models: [],
    },
  }

  test("a pod's start-up: the cluster's clock outside the process, the replica's inside; its own part excludes provisioning", () => {
    const phases = startupPhases(booted)!
    assert.equal(phases['provisioning (stand-in)'], 10_000)
    assert.equal(phases['process start'], 45)
    assert.equal(phases['ready → first passing probe'], 30)
    assert.equal(phases["pod's own part"], 830)
    assert.equal(phases['asked → serving'], 10_830)
    assert.equal(startupPhases({ ...booted, readyAt: undefined }), undefined, 'never ready: no breakdown')
    // No probe passed (yet): serving counts from ready.
    assert.equal(startupPhases({ ...booted, readyAnsweredAt: undefined })!["pod's own part"], 800)
    // A standby is first probed when a promotion lists it, a minute later say: that wait is not its start-up.
    const standby = startupPhases({ ...booted, readyAnsweredAt: 71_800, readyAsStandby: true })!
    assert.equal(standby["pod's own part"], 800)
    assert.equal(standby['ready → first passing probe'], undefined)
  })

  test('the start-up table lists every phase with median and range, and says whether pods were boosted', () => {
    const table = startupTable([booted, { ...booted, readyAnsweredAt: 11_900 }, pod(0)])
    for (const phase of STARTUP_PHASES) assert.match(table, new RegExp(phase.replace(/[()]/g, '\\$&')))
    assert.match(table, /2 pod start-up\(s\), 2 booted at 2 cores/)
    assert.match(table, /ready → first passing probe\s+65\s+\[30–100\]/)
    assert.equal(startupTable([pod(0)]), 'no pod said how it started')
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

  test('with a boot boost a pod boots at the boost limit and is lowered to its own once ready; it says how it started', async () => {
    removeStaleGroups()
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cluster-'))
    const cluster = new LocalCluster({
      cores: 0.5,
      bootBoost: { enabled: true, bootCores: 1.5 },
      provisioningMs: 0,
      replicasFile: join(dir, 'replicas.txt'),
      replicaArgs: ['--log-level', 'warn', '--intra-op-threads', '1', '--models-dir', 'none'],
      drainDelayMs: 0,
    })
    try {
      cluster.scaleTo(1)
      await cluster.untilReady(1)
      const [record] = cluster.records()
      assert.equal(record!.bootCores, 1.5, 'booted at the boost limit (read back from its cgroup)')
      assert.deepEqual(cluster.cpuLimits(), [{ name: record!.name, cores: 0.5 }], 'lowered to its own limit once ready')
      assert.ok(record!.boostEndedAt !== undefined && record!.boostEndedAt <= record!.readyAt!)
      assert.equal(typeof record!.startup?.warmup_ms, 'number')
      assert.equal(typeof record!.processSpawnMs, 'number')
      // A prober's first passing /readyz reaches the cluster.
      const url = /^http:\/\/\S+$/m.exec(await readFile(join(dir, 'replicas.txt'), 'utf8'))![0]
      assert.equal((await fetch(`${url}/readyz`)).status, 200)
      while (cluster.records()[0]!.readyAnsweredAt === undefined) await new Promise((r) => setTimeout(r, 20))
      assert.ok(cluster.records()[0]!.readyAnsweredAt! >= record!.readyAt!)
    } finally {
      await cluster.close()
      await rm(dir, { recursive: true, force: true })
    }
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
