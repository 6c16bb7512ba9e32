import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp } from 'node:fs/promises'
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
const WITH_FALLBACK: RegistryState = {
  models: { resnet18: { versions: {}, fallback: { model: 'darknet-tiny', version: 'v1' } } },
}
const DEGRADED_SAMPLE = 'gateway_degraded_answers_total{model="resnet18",fallback="darknet-tiny@v1"}'

/**
 * Brownout with a real gateway and stub replicas: resnet18 on a replica taking 1,000 ms, darknet-tiny (its fallback)
 * on one taking 50 ms. Each deadline is chosen so that the decision holds with room to spare on a slow machine: the
 * primary can never be measured faster than 1,000 ms (> 0.8 × 1,100), so a slower machine only makes it miss more
 * surely; the fallback is expected within half the primary's latency (a saturated slot frees) plus its own 50 ms,
 * 550 ms, far inside 880 ms; and a held slot stays held until the test releases it.
 */
describe('gateway: brownout (a fallback answers what the model would not in time)', () => {
  let primary: StubReplica
  let fallback: StubReplica
  let registryFile: string
  const gateways: RunningGateway[] = []
  const post = (gateway: RunningGateway, model: string, timeoutMs: number) =>
    call(`${gateway.url}/predict?model=${model}`, {
      body: image,
      headers: { 'content-type': 'image/jpeg', 'x-timeout-ms': String(timeoutMs) },
    })
  const start = async (flags: string[] = []) => {
    const gateway = await startTestGateway([
      ...['--discovery', 'static', '--replicas', `${primary.url},${fallback.url}`, '--autoscaler', 'none'],
      // Two slots per replica: a saturated resnet18 frees one within half its latency (Σ slots / latency).
      ...['--replica-slots', '2', '--model-registry-file', registryFile, ...flags],
    ])
    gateways.push(gateway)
    await routable(gateway, 2)
    return gateway
  }
  /**
   * Two answers from resnet18 teach the gateway its latency and the pace (admission refuses on time only on a
   * measured pace); the fallback stays unmeasured.
   */
  const learnPrimary = async (gateway: RunningGateway) => {
    for (let i = 0; i < 2; i++) assert.equal((await post(gateway, 'resnet18', 30_000)).status, 200)
  }
  /** The pace is measured over the last 5 s: two fast answers from the fallback keep it current before a decision. */
  const freshPace = async (gateway: RunningGateway) => {
    for (let i = 0; i < 2; i++) assert.equal((await post(gateway, 'darknet-tiny@v1', 30_000)).status, 200)
  }
  const applyState = async (gateway: RunningGateway, state: RegistryState) => {
    const loaded = once(gateway.models.registry, 'change')
    await writeStateFile(registryFile, state)
    await gateway.models.registry.reload()
    await loaded
  }

  before(async () => {
    registryFile = join(await mkdtemp(join(tmpdir(), 'brownout-')), 'models.json')
    await writeStateFile(registryFile, WITH_FALLBACK)
    primary = await StubReplica.start({ name: 'big', delayMs: 1000, models: [{ name: 'resnet18', version: 'v1' }] })
    fallback = await StubReplica.start({ name: 'tiny', delayMs: 50, models: [{ name: 'darknet-tiny', version: 'v1' }] })
  })
  after(async () => {
    for (const gateway of gateways) await gateway.shutdown(1000)
    await primary.close()
    await fallback.close()
  })

  test('what would be refused is answered 200 by the fallback, degraded; refused when neither is in time, or without it', async () => {
    const gateway = await start()
    await learnPrimary(gateway)
    const models = await call(`${gateway.url}/models`)
    assert.equal(models.body.models.find((m: { name: string }) => m.name === 'resnet18').fallback, 'darknet-tiny@v1')

    // 1,000 ms of resnet18 cannot meet 0.8 × 1,100 ms: the fallback, not measured yet, is tried (one probe).
    const probe = await post(gateway, 'resnet18', 1100)
    assert.equal(probe.status, 200, JSON.stringify(probe.body))
    assert.equal(probe.body.degraded, true)
    assert.equal(probe.body.degraded_from, 'resnet18@v1')
    assert.deepEqual([probe.body.model.name, probe.body.model.version], ['darknet-tiny', 'v1'])
    assert.equal(probe.body.replica_id, 'tiny')

    // A deadline nothing meets (the fallback alone takes ≥ 50 ms > 0.8 × 50): refused at once, as before.
    await freshPace(gateway)
    const hopeless = await post(gateway, 'resnet18', 50)
    assert.equal(hopeless.status, 503)
    assert.equal(errorCode(hopeless), 'would_miss_deadline')
    assert.match(hopeless.body.error, /beyond this request's deadline/)

    // resnet18 saturated (both slots held): its answer is ≥ 1,000 ms away, the fallback's ≤ half of that + its own.
    const release = primary.holdAnswers()
    const held = [post(gateway, 'resnet18', 30_000), post(gateway, 'resnet18', 30_000)]
    await primary.received(2 + 2)
    await freshPace(gateway)
    const saturated = await post(gateway, 'resnet18', 1100)
    assert.equal(saturated.status, 200, JSON.stringify(saturated.body))
    assert.equal(saturated.body.degraded, true)
    assert.equal(saturated.body.model.name, 'darknet-tiny')
    // A request naming the exact version asked for that version: never degraded.
    await freshPace(gateway)
    const pinned = await post(gateway, 'resnet18@v1', 1100)
    assert.equal(pinned.status, 503)
    release()
    for (const answer of await Promise.all(held)) {
      assert.equal(answer.status, 200)
      assert.equal(answer.body.degraded, false, 'answers in time are not degraded')
      assert.equal(answer.body.model.name, 'resnet18')
    }

    const text = (await call(`${gateway.url}/metrics`)).body as string
    assert.equal(metric(text, DEGRADED_SAMPLE), 2)
    const live = (await call(`${gateway.url}/live`)).body
    assert.equal(live.minute.degraded, 2)
    assert.equal(
      live.seconds.reduce((sum: number, s: { degraded: number }) => sum + s.degraded, 0),
      2,
    )

    // The fallback cleared from the registry: the same request is refused again.
    await applyState(gateway, { models: {} })
    await freshPace(gateway)
    const refused = await post(gateway, 'resnet18', 1100)
    assert.equal(refused.status, 503)
    assert.equal(errorCode(refused), 'would_miss_deadline')
    assert.equal(metric((await call(`${gateway.url}/metrics`)).body as string, DEGRADED_SAMPLE), 2)
    await applyState(gateway, WITH_FALLBACK)
  })

  test('BROWNOUT=off: a fallback in the registry is ignored, and the request refused as before', async () => {
    const gateway = await start(['--brownout', 'off'])
    await learnPrimary(gateway)
    await freshPace(gateway)
    const refused = await post(gateway, 'resnet18', 1100)
    assert.equal(refused.status, 503)
    assert.equal(errorCode(refused), 'would_miss_deadline')
    assert.equal(metric((await call(`${gateway.url}/metrics`)).body as string, DEGRADED_SAMPLE), 0)
  })
})
