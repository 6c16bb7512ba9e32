import assert from 'node:assert/strict'
import { once } from 'node:events'
import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { call, postImage } from '../../common/http/call.ts'
import type { RegistryState } from '../../common/model-registry/state.ts'
import { updateStateFile } from '../../common/model-registry/state-file.ts'
import { promote, rollback, setCanary } from '../../common/model-registry/transitions.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'

const DARKNET = fileURLToPath(new URL('../../../shared/models/darknet-tiny', import.meta.url))
const NOW = '2026-12-05T12:00:00.000Z'

/**
 * Real replica processes serving two versions of the real darknet-tiny (MODELS_DIR/darknet-tiny/v1 and /v2, copies
 * of the shared model), behind a real gateway: versions are learnt from /readyz, NAME@VERSION runs that version, and
 * registry changes move `?model=darknet-tiny` between them without a restart.
 */
describe('two versions of darknet-tiny on real replicas', () => {
  const work = mkdtempSync(join(tmpdir(), 'versions-darknet-'))
  const modelsDir = join(work, 'models')
  const registryFile = join(work, 'models.json')
  const tench = someSampleImages(1)[0]!.bytes()
  let gateway: RunningGateway
  let draw = 0

  const change = async (transition: (state: RegistryState) => { state: RegistryState; summary: string }) => {
    const loaded = once(gateway.models.registry, 'change')
    await updateStateFile(registryFile, transition)
    await loaded
  }
  const versionOf = async (model: string) => {
    const response = await postImage(`${gateway.url}/predict?model=${model}`, tench)
    assert.equal(response.status, 200, JSON.stringify(response.body))
    assert.equal(response.body.label, 'tench', 'both versions are the real model')
    return response.body.model.version as string
  }

  before(async () => {
    for (const version of ['v1', 'v2']) cpSync(DARKNET, join(modelsDir, 'darknet-tiny', version), { recursive: true })
    gateway = await startTestGateway(
      [
        ...['--discovery', 'local', '--local-replicas', '1', '--autoscaler', 'none'],
        `--local-replica-args=--models-dir ${modelsDir}`,
        ...['--model-registry-file', registryFile],
      ],
      { random: () => (draw++ % 2 === 0 ? 0.25 : 0.75) },
    )
    await routable(gateway, 1)
  })
  after(() => gateway.shutdown(10_000))

  test('the replica serves both versions; the gateway lists them with stages and weights and routes NAME@VERSION', async () => {
    const [replica] = gateway.pool.all
    assert.deepEqual(
      replica!.versions.filter((v) => v.startsWith('darknet-tiny@')),
      ['darknet-tiny@v1', 'darknet-tiny@v2'],
    )
    const atReplica = await call(`${replica!.url}/models`)
    const darknet = atReplica.body.models.find((m: { name: string }) => m.name === 'darknet-tiny')
    assert.deepEqual(
      darknet.versions.map((v: { version: string; weight: number; source: string }) => [v.version, v.weight, v.source]),
      [
        ['v1', 0, 'converted'],
        ['v2', 1, 'converted'],
      ],
    )
    const models = await call(`${gateway.url}/models`)
    const listed = models.body.models.find((m: { name: string }) => m.name === 'darknet-tiny')
    assert.deepEqual(
      listed.versions.map((v: { version: string; stage: string }) => [v.version, v.stage]),
      [
        ['v1', 'staging'],
        ['v2', 'production'],
      ],
    )
    assert.equal(await versionOf('darknet-tiny@v1'), 'v1')
    assert.equal(await versionOf('darknet-tiny@v2'), 'v2')
    assert.equal(await versionOf('darknet-tiny'), 'v2', 'nothing registered: the newest version')
  })

  test('promote v1, canary v2 at 0.5, rollback: ?model=darknet-tiny follows the registry without a restart', async () => {
    await change((state) => promote(state, 'darknet-tiny', 'v1', { versions: ['v1', 'v2'] }))
    assert.deepEqual([await versionOf('darknet-tiny'), await versionOf('darknet-tiny')], ['v1', 'v1'])
    await change((state) => setCanary(state, 'darknet-tiny', 'v2', 0.5, NOW, { versions: ['v1', 'v2'] }))
    const split: string[] = []
    for (let i = 0; i < 6; i++) split.push(await versionOf('darknet-tiny'))
    assert.deepEqual(split.sort(), ['v1', 'v1', 'v1', 'v2', 'v2', 'v2'])
    await change((state) => rollback(state, 'darknet-tiny', NOW))
    assert.deepEqual([await versionOf('darknet-tiny'), await versionOf('darknet-tiny')], ['v1', 'v1'])
  })
})
