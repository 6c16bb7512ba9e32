import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { call, errorCode } from '../../common/http/call.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import type { RegistryState } from '../../common/model-registry/state.ts'
import { writeStateFile } from '../../common/model-registry/state-file.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const image = Buffer.alloc(2048, 7)

/** Draws that alternate below and above one half: a 0.5 canary then sends exactly every other request to the candidate. */
function alternatingDraws(): () => number {
  let i = 0
  return () => (i++ % 2 === 0 ? 0.25 : 0.75)
}

describe('gateway: model versions, stages and the registry state', () => {
  let v1: StubReplica
  let v2: StubReplica
  let gateway: RunningGateway
  let registryFile: string
  const post = (headers: Record<string, string> = {}, query = '') =>
    call(`${gateway.url}/predict${query}`, { body: image, headers: { 'content-type': 'image/jpeg', ...headers } })

  /** Writes the state file and resolves once the gateway has loaded it (the watcher's 'change', if it changed). */
  const applyState = async (state: RegistryState) => {
    if (JSON.stringify(gateway.models.registry.state) === JSON.stringify(state)) return
    const loaded = once(gateway.models.registry, 'change')
    await writeStateFile(registryFile, state)
    await loaded
  }

  before(async () => {
    registryFile = join(await mkdtemp(join(tmpdir(), 'versions-')), 'models.json')
    v1 = await StubReplica.start({ name: 'one', models: [{ name: 'm', version: 'v1' }] })
    v2 = await StubReplica.start({ name: 'two', models: [{ name: 'm', version: 'v2' }] })
    gateway = await startTestGateway(
      [
        ...['--discovery', 'static', '--replicas', `${v1.url},${v2.url}`, '--autoscaler', 'none'],
        ...['--model-registry-file', registryFile],
      ],
      { random: alternatingDraws() },
    )
    await routable(gateway, 2)
  })
  after(async () => {
    await gateway.shutdown(1000)
    await v1.close()
    await v2.close()
  })

  test('with no registry file, ?model=NAME runs the newest served version (implicit production)', async () => {
    const models = await call(`${gateway.url}/models`)
    const m = models.body.models.find((x: { name: string }) => x.name === 'm')
    assert.equal(m.production, 'v2')
    assert.deepEqual(
      m.versions.map((v: { version: string; stage: string; weight: number; implicit?: boolean }) => [
        v.version,
        v.stage,
        v.weight,
        v.implicit ?? false,
      ]),
      [
        ['v1', 'staging', 0, false],
        ['v2', 'production', 1, true],
      ],
    )
    const answer = await post({}, '?model=m')
    assert.equal(answer.status, 200)
    assert.deepEqual(answer.body.model, { name: 'm', version: 'v2', pretrained: false })
  })

  test('NAME@VERSION (query or X-Model) runs exactly that version, only at replicas serving it; an unknown version is a 404', async () => {
    await applyState({ models: { m: { versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } } } } })
    const [before1, before2] = [v1.requests.length, v2.requests.length]
    for (let i = 0; i < 4; i++) {
      const byQuery = await post({}, '?model=m@v2')
      assert.equal(byQuery.body.model.version, 'v2')
      assert.equal(byQuery.body.replica, v2.url)
      const byHeader = await post({ 'x-model': 'm@v1' })
      assert.equal(byHeader.body.model.version, 'v1')
      assert.equal(byHeader.body.replica, v1.url)
    }
    assert.equal(v1.requests.length - before1, 4)
    assert.equal(v2.requests.length - before2, 4)
    const unknown = await post({}, '?model=m@v9')
    assert.equal(unknown.status, 404)
    assert.equal(errorCode(unknown), 'unknown_model')
    assert.match(unknown.body.error, /version 'v9' of m/)
    assert.equal((await post({}, '?model=nope@v1')).status, 404)
  })

  test('a state file change is picked up without restart: production, then a canary splitting by its weight', async () => {
    await applyState({ models: { m: { versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } } } } })
    for (let i = 0; i < 4; i++) assert.equal((await post({}, '?model=m')).body.model.version, 'v1')
    let models = await call(`${gateway.url}/models`)
    let m = models.body.models.find((x: { name: string }) => x.name === 'm')
    assert.deepEqual(
      m.versions.map((v: { stage: string; weight: number }) => [v.stage, v.weight]),
      [
        ['production', 1],
        ['staging', 0],
      ],
    )

    await applyState({
      models: {
        m: {
          versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } },
          canary: { version: 'v2', weight: 0.5, since: new Date().toISOString() },
        },
      },
    })
    const versions: string[] = []
    for (let i = 0; i < 20; i++) versions.push((await post({}, '?model=m')).body.model.version)
    assert.equal(versions.filter((v) => v === 'v2').length, 10, versions.join(' '))
    models = await call(`${gateway.url}/models`)
    m = models.body.models.find((x: { name: string }) => x.name === 'm')
    assert.deepEqual(m.canary, { version: 'v2', weight: 0.5 })
    assert.deepEqual(
      m.versions.map((v: { weight: number }) => v.weight),
      [0.5, 0.5],
    )

    // Per-version metrics, and both versions side by side on the live panel.
    const metrics = (await call(`${gateway.url}/metrics`)).body as string
    assert.ok(metric(metrics, 'gateway_model_requests_total{model="m",version="v2",status="200"}') >= 10)
    assert.ok(metric(metrics, 'gateway_model_duration_seconds_count{model="m",version="v1"}') >= 10)
    assert.match(metrics, /gateway_model_duration_seconds_bucket\{le="[^"]+",model="m",version="v2"\}/)
    const live = await call(`${gateway.url}/live`)
    const rows = live.body.versions.filter((v: { model: string }) => v.model === 'm')
    assert.deepEqual(
      rows.map((v: { version: string; stage: string; weight: number }) => [v.version, v.stage, v.weight]),
      [
        ['v1', 'production', 0.5],
        ['v2', 'staging', 0.5],
      ],
    )
    for (const row of rows) {
      assert.ok(row.requests >= 10)
      assert.equal(row.errors, 0)
      assert.equal(typeof row.p95_ms, 'number')
    }
  })

  test('a bad state file is refused with the reason, and the last good state stays in force', async () => {
    await applyState({
      models: {
        m: {
          versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } },
          canary: { version: 'v2', weight: 0.5 },
        },
      },
    })
    for (const [bad, reason] of [
      [
        '{"models": {"m": {"versions": {"v1": {"stage": "production"}, "v2": {"stage": "production"}}}}}',
        /at most one/,
      ],
      ['{"models": ', /not JSON/],
      ['{"models": {"m": {"versions": {}, "canary": {"version": "v2", "weight": 7}}}}', /weight/],
    ] as const) {
      const refused = once(gateway.models.registry, 'refused')
      await writeFile(`${registryFile}.tmp`, bad)
      // As writers should: a rename, so the gateway never reads half a file.
      await rename(`${registryFile}.tmp`, registryFile)
      const [why] = await refused
      assert.match(String(why), reason)
      const versions: string[] = []
      for (let i = 0; i < 4; i++) versions.push((await post({}, '?model=m')).body.model.version)
      assert.deepEqual(versions.sort(), ['v1', 'v1', 'v2', 'v2'], 'still the canary split')
    }
    await applyState({ models: { m: { versions: { v1: { stage: 'production' }, v2: { stage: 'staging' } } } } })
    assert.equal((await post({}, '?model=m')).body.model.version, 'v1', 'a good file is taken again')
  })
})
