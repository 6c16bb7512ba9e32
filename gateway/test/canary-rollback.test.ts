import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { call } from '../../common/http/call.ts'
import { readStateFile, writeStateFile } from '../../common/model-registry/state-file.ts'
import type { CanaryRollback } from '../src/canary/canary-monitor.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica, type StubReplicaOptions } from './stub-replica.ts'

const image = Buffer.alloc(2048, 7)
const MIN_SAMPLES = 20

/**
 * The canary rolls back by itself: production m@v1 answers in 5 ms; the candidate m@v2 fails or is slow on purpose.
 * Requests go one at a time (the canary gets every other one: weight 0.5 and alternating draws) until the gateway
 * announces the rollback; the test then checks what a user sees: the file, GET /models, and where traffic goes.
 */
describe('canary with automatic rollback (real gateway, stub replicas)', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  const scenario = async (candidate: StubReplicaOptions) => {
    const registryFile = join(await mkdtemp(join(tmpdir(), 'canary-')), 'models.json')
    const production = await StubReplica.start({ name: 'one', delayMs: 5, models: [{ name: 'm', version: 'v1' }] })
    const canary = await StubReplica.start({ name: 'two', ...candidate, models: [{ name: 'm', version: 'v2' }] })
    cleanup.push(
      () => production.close(),
      () => canary.close(),
    )
    const canarySince = new Date().toISOString()
    await writeStateFile(registryFile, {
      models: {
        m: {
          versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } },
          canary: { version: 'v2', weight: 0.5, since: canarySince },
        },
      },
    })
    let draw = 0
    const gateway: RunningGateway = await startTestGateway(
      [
        ...['--discovery', 'static', '--replicas', `${production.url},${canary.url}`, '--autoscaler', 'none'],
        ...['--model-registry-file', registryFile, '--canary-min-samples', String(MIN_SAMPLES)],
        // Failures stay on the candidate instead of ejecting it (ejection would hide it from the canary for a while).
        ...['--outlier-consecutive-failures', '1000'],
      ],
      { random: () => (draw++ % 2 === 0 ? 0.25 : 0.75) },
    )
    cleanup.push(() => gateway.shutdown(1000))
    await routable(gateway, 2)

    const started = performance.now()
    let rolledBack: CanaryRollback | undefined
    /** Requests sent when the rollback was announced (after the file write: the in-memory switch came first). */
    let rolledBackAfter = 0
    let sent = 0
    const announced = once(gateway.models.canary, 'rollback').then(([event]) => {
      rolledBack = event as CanaryRollback
      rolledBackAfter = sent
    })
    const statuses: number[] = []
    while (!rolledBack && sent < 20 * MIN_SAMPLES) {
      const response = await call(`${gateway.url}/predict?model=m`, {
        body: image,
        headers: { 'content-type': 'image/jpeg' },
      })
      statuses.push(response.status)
      sent++
    }
    await announced
    const elapsedMs = performance.now() - started
    const candidateRequests = canary.requests.length
    // After the rollback every request for m goes to production.
    const after: string[] = []
    for (let i = 0; i < 10; i++) {
      const response = await call(`${gateway.url}/predict?model=m`, {
        body: image,
        headers: { 'content-type': 'image/jpeg' },
      })
      after.push(response.body.model?.version)
    }
    return {
      gateway,
      registryFile,
      rolledBack: rolledBack!,
      rolledBackAfter,
      statuses,
      candidateRequests,
      canary,
      after,
      elapsedMs,
    }
  }

  test('a failing candidate (500s) is rolled back once both sides have enough samples; the file says so, traffic returns to v1', async (t) => {
    const run = await scenario({ mode: 'error500', delayMs: 5 })
    assert.equal(run.rolledBack.model, 'm')
    assert.equal(run.rolledBack.candidate, 'v2')
    assert.equal(run.rolledBack.verdict.rule, 'error_rate')
    assert.match(run.rolledBack.verdict.reason, /error rate 100 % against production's 0 %/)
    // Not before the rule allows it (MIN_SAMPLES each), and at once then: the in-memory state changes with that answer.
    assert.equal(run.rolledBack.candidateStats.requests, MIN_SAMPLES)
    assert.equal(run.rolledBack.productionStats.requests, MIN_SAMPLES)
    assert.equal(run.rolledBack.candidateStats.errors, MIN_SAMPLES)
    assert.equal(run.candidateRequests, MIN_SAMPLES)
    assert.deepEqual(run.after, Array(10).fill('v1'))
    assert.equal(run.canary.requests.length, MIN_SAMPLES, 'the candidate gets nothing more')
    const { state } = await readStateFile(run.registryFile)
    assert.equal(state.models.m!.canary, undefined)
    assert.equal(state.models.m!.versions.v2!.stage, 'staging')
    assert.match(state.models.m!.versions.v2!.rolled_back!.reason, /^automatic: error rate/)
    const m = (await call(`${run.gateway.url}/models`)).body.models.find((x: { name: string }) => x.name === 'm')
    assert.deepEqual(
      m.versions.map((v: { version: string; weight: number }) => [v.version, v.weight]),
      [
        ['v1', 1],
        ['v2', 0],
      ],
    )
    t.diagnostic(
      `error canary: ${run.rolledBackAfter} requests (${run.candidateRequests} to v2, all 502 to the client) → rolled back in ${Math.round(run.elapsedMs)} ms`,
    )
  })

  test('a slow candidate (p95 far above +10 %) is rolled back by the latency rule', async (t) => {
    const run = await scenario({ delayMs: 60 })
    assert.equal(run.rolledBack.verdict.rule, 'p95')
    assert.match(run.rolledBack.verdict.reason, /p95 \d+(\.\d)? ms against production's \d+(\.\d)? ms/)
    assert.equal(run.rolledBack.candidateStats.requests, MIN_SAMPLES)
    assert.equal(run.rolledBack.productionStats.requests, MIN_SAMPLES)
    assert.equal(run.canary.requests.length, MIN_SAMPLES, 'the candidate gets nothing more')
    assert.ok(
      run.statuses.every((s) => s === 200),
      'a slow version still answers',
    )
    assert.deepEqual(run.after, Array(10).fill('v1'))
    const { state } = await readStateFile(run.registryFile)
    assert.match(state.models.m!.versions.v2!.rolled_back!.reason, /^automatic: p95/)
    t.diagnostic(
      `slow canary: ${run.rolledBack.verdict.reason}; rolled back after ${run.rolledBackAfter} requests, ${Math.round(run.elapsedMs)} ms`,
    )
  })
})
