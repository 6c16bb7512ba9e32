import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { call } from '../../common/http/call.ts'
import { readStateFile } from '../../common/model-registry/state-file.ts'
import { runEntryPoint } from '../../common/testing/run-command.ts'
import { importTfjsModel } from '../../replica/src/model/importer/import-tfjs.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'

const DARKNET = fileURLToPath(new URL('../../../shared/models/darknet-tiny/model.json', import.meta.url))
const GATE = fileURLToPath(new URL('../tools/gate.ts', import.meta.url))
const MODELS = fileURLToPath(new URL('../../replica/tools/models.ts', import.meta.url))
/** The first 200 sample images: on them v1 is 67.5 % top-1, v2-int8 67.0 %, v3-pruned30 39.5 % (measured). */
const LIMIT = '200'

/**
 * The regression gate on real models: three versions of the trained darknet-tiny made from the same weights — as
 * converted (v1), rounded to 8 bits (v2-int8) and with 30 % of each kernel pruned (v3-pruned30) — served by a real
 * replica process and evaluated through the gateway's batch jobs.
 */
describe('npm run gate on two real versions of darknet-tiny', () => {
  const work = mkdtempSync(join(tmpdir(), 'gate-darknet-'))
  const modelsDir = join(work, 'models')
  const registryFile = join(work, 'models.json')
  let gateway: RunningGateway
  const gate = (...args: string[]) =>
    runEntryPoint(
      GATE,
      [
        ...['--gateway', gateway.url, '--model', 'darknet-tiny', '--baseline', 'v1', '--limit', LIMIT],
        ...['--model-registry-file', registryFile, ...args],
      ],
      { timeoutMs: 280_000 },
    )

  before(async () => {
    const versions = [
      ['v1', {}],
      ['v2-int8', { bits: 8 }],
      ['v3-pruned30', { prune: 0.3 }],
    ] as const
    for (const [version, transform] of versions) {
      await importTfjsModel(DARKNET, join(modelsDir, 'darknet-tiny', version), {
        name: 'darknet-tiny',
        version,
        transform,
      })
    }
    gateway = await startTestGateway([
      ...['--discovery', 'local', '--local-replicas', '1', '--autoscaler', 'none'],
      `--local-replica-args=--models-dir ${modelsDir}`,
      ...['--model-registry-file', registryFile],
    ])
    await routable(gateway, 1)
  })
  after(() => gateway.shutdown(10_000))

  test('8-bit weights pass, pruned weights fail on accuracy; the verdict is recorded and promote honours it', async () => {
    // The accuracy rule is what this test is about: two evaluations of the same compute run one after the other on a
    // shared 2-core machine differ in p95 by more than 10 % (one run here: 117 vs 148 ms), and a busy CI machine can
    // double one of them, so the latency rule is set out of reach here (+10,000 %, the setting's largest); it is the
    // unit tests' (gate-rules.test.ts), and the default +10 % the user's.
    const pass = await gate('--candidate', 'v2-int8', '--max-p95-increase', '100')
    assert.equal(pass.code, 0, pass.stdout + pass.stderr)
    assert.match(pass.stdout, /top-1 accuracy drop ≤ 1 point\(s\) \| 67\.50 % +\| 67\.00 % +\| ≥ 66\.50 % +\| PASS/)
    assert.match(pass.stdout, /darknet-tiny v2-int8: PASS/)

    // The baseline's stored results are reused; only the candidate is evaluated now.
    const fail = await gate('--candidate', 'v3-pruned30', '--reuse', 'true', '--max-p95-increase', '100')
    assert.equal(fail.code, 1, fail.stdout + fail.stderr)
    assert.match(fail.stdout, /top-1 accuracy drop ≤ 1 point\(s\) \| 67\.50 % +\| 39\.50 % +\| ≥ 66\.50 % +\| FAIL/)
    assert.match(fail.stdout, /\(stored\)/)
    const jobs = (await call(`${gateway.url}/batch`)).body.jobs as { model: string; status: string }[]
    assert.deepEqual(jobs.map((job) => [job.model, job.status]).sort(), [
      ['darknet-tiny@v1', 'succeeded'],
      ['darknet-tiny@v2-int8', 'succeeded'],
      ['darknet-tiny@v3-pruned30', 'succeeded'],
    ])

    const { state } = await readStateFile(registryFile)
    const versions = state.models['darknet-tiny']!.versions
    assert.equal(versions['v2-int8']!.gate?.passed, true)
    assert.equal(versions['v3-pruned30']!.gate?.passed, false)
    assert.equal(versions['v3-pruned30']!.gate?.baseline, 'v1')

    const refused = await runEntryPoint(MODELS, [
      'promote',
      'darknet-tiny',
      'v3-pruned30',
      '--model-registry-file',
      registryFile,
    ])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /gate_failed/)
    const promoted = await runEntryPoint(MODELS, [
      'promote',
      'darknet-tiny',
      'v2-int8',
      '--model-registry-file',
      registryFile,
    ])
    assert.equal(promoted.code, 0, promoted.stderr)
  })

  test('bad input is one line and exit 2, never an evaluation', async () => {
    const same = await gate('--candidate', 'v1')
    assert.equal(same.code, 2)
    assert.match(same.stderr, /same version/)
  })
})
