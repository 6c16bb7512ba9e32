/**
 * The image and docker-compose.yml, run as users run them, with podman: one build of the Dockerfile (Docker format,
 * so HEALTHCHECK survives), then the compose stack — gateway, 3 replicas with their CPU and memory limits, Prometheus
 * — through podman's Docker API. Predictions found by DNS reach every replica, Prometheus scrapes every container and
 * loads the alerts, and stopping (one replica under load, then the whole stack) loses no request.
 *
 * No container registry is reachable here: the base images are the local stand-ins that
 * ../shared/containers/base-images.sh builds (.ci/run runs it), or the upstream ones when podman already has them.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { call, errorCode, postImage, postJson } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { freePort } from '../../common/testing/free-port.ts'
import { ComposeProject } from './compose-project.ts'
import { firstLocalImage, hasCommand, imageSize, inspect, podman, run, runHealthChecks } from './podman.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE_BASES = ['localhost/stand-in/node:20-bookworm-slim', 'docker.io/library/node:24-bookworm-slim']
const PROMETHEUS_BASES = ['localhost/stand-in/prometheus:debian', 'docker.io/prom/prometheus:v2.53.1']
/** The budget for the image's own layers. */
const MAX_BYTES_OVER_BASE = 200_000_000
const REPLICAS = 3

const nodeBase = firstLocalImage(NODE_BASES)
const prometheusBase = firstLocalImage(PROMETHEUS_BASES)

function skipReason(): string | false {
  if (!hasCommand('podman')) return 'podman is not installed (apt-get install podman; .ci/run installs it)'
  if (!hasCommand('docker-compose')) return 'docker-compose is not installed (apt-get install docker-compose)'
  if (process.getuid?.() !== 0) return 'needs rootful podman (CPU limits under cgroup v1); run as root'
  if (!nodeBase || !prometheusBase) {
    return `no base image (${NODE_BASES[1]}, ${PROMETHEUS_BASES[1]}): no registry here, so run ../shared/containers/base-images.sh after . .ci/node.sh`
  }
  const version = spawnSync('podman', ['run', '--rm', nodeBase, 'node', '-p', 'process.versions.node'], {
    encoding: 'utf8',
  }).stdout.trim()
  if (Number(version.split('.')[0]) < 24) {
    return `${nodeBase} has Node ${version || '(none)'}, the project needs 24: remove it and run ../shared/containers/base-images.sh after . .ci/node.sh`
  }
  return false
}

/** The JSON lines (pino) of a container's log: each with its epoch-ms `time`. */
function logEntries(log: string): { msg?: string; time: number }[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
}

type Outcome = { status: number; replica?: string; code?: string; at: number; error?: string }

describe('the image and docker-compose.yml, run with podman', { skip: skipReason(), timeout: 480_000 }, () => {
  const tag = `localhost/switchyard:test-${process.pid}`
  const images = someSampleImages(8, 41).map((image) => image.bytes())
  let project: ComposeProject | undefined
  let gateway = ''
  let prometheus = ''

  const predict = (i: number, headers: Record<string, string> = {}) => predictAt(gateway, i, headers)
  const predictAt = async (url: string, i: number, headers: Record<string, string> = {}): Promise<Outcome> => {
    try {
      const response = await postImage(`${url}/predict`, images[i % images.length]!, headers)
      return { status: response.status, replica: response.body.replica, code: response.body.code, at: Date.now() }
    } catch (error) {
      return { status: 0, error: (error as Error).message, at: Date.now() }
    }
  }
  const ipOf = async (container: string): Promise<string> => {
    const networks = (await inspect('container', container)).NetworkSettings.Networks
    return (Object.values(networks)[0] as { IPAddress: string }).IPAddress
  }
  const replicaNames = () => Array.from({ length: REPLICAS }, (_, i) => project!.container('replica', i + 1))
  const routableReplicas = async () =>
    (await call(`${gateway}/replicas`)).body.replicas.filter((r: { routable: boolean }) => r.routable)

  before(async () => {
    await ComposeProject.removeAbandoned()
    await run(
      'podman',
      ['build', '--network', 'host', '--format', 'docker', '--build-arg', `NODE_IMAGE=${nodeBase}`, '-t', tag, ROOT],
      { timeoutMs: 300_000 },
    )
    const [gatewayPort, prometheusPort] = [await freePort(), await freePort()]
    gateway = `http://127.0.0.1:${gatewayPort}`
    prometheus = `http://127.0.0.1:${prometheusPort}`
    project = await ComposeProject.start({
      composeFile: join(ROOT, 'docker-compose.yml'),
      variables: {
        SWITCHYARD_IMAGE: tag,
        NODE_IMAGE: nodeBase!,
        PROMETHEUS_IMAGE: prometheusBase!,
        GATEWAY_PORT: String(gatewayPort),
        PROMETHEUS_PORT: String(prometheusPort),
      },
    })
    const health = runHealthChecks(project.name)
    try {
      // Compose starts the gateway only once every replica is healthy (condition: service_healthy).
      await project.compose(['up', '--detach', '--no-build', 'replica', 'gateway', 'prometheus'], 180_000)
    } finally {
      await health.stop()
    }
    await untilOk(`${gateway}/readyz`, 'the gateway container', 60_000)
  })

  after(async () => {
    await project?.remove()
    await podman(['rmi', tag]).catch(() => undefined)
  })

  test('the image: at most 200 MB over its base, HEALTHCHECK kept, runs as a non-root user', async (t) => {
    const over = (await imageSize(tag)) - (await imageSize(nodeBase!))
    t.diagnostic(
      `image ${((await imageSize(tag)) / 1e6).toFixed(1)} MB, ${(over / 1e6).toFixed(1)} MB over ${nodeBase}`,
    )
    assert.ok(over <= MAX_BYTES_OVER_BASE, `${(over / 1e6).toFixed(1)} MB over the base`)
    const image = await inspect('image', tag)
    assert.equal(image.ManifestType, 'application/vnd.docker.distribution.manifest.v2+json')
    assert.deepEqual(image.Healthcheck?.Test, ['CMD', 'node', 'common/healthcheck-cli.ts'])
    assert.equal(image.Config.User, 'node')
  })

  test('the stack: 3 replicas limited to 1 CPU and 1 GiB, healthy; services non-root on a read-only root', async (t) => {
    const names = await project!.containers()
    assert.deepEqual(names, [project!.container('gateway'), project!.container('prometheus'), ...replicaNames()])
    const startups: number[] = []
    for (const name of replicaNames()) {
      const container = await inspect('container', name)
      assert.equal(container.HostConfig.NanoCpus, 1e9, `${name}: 1 CPU`)
      assert.equal(container.HostConfig.Memory, 2 ** 30, `${name}: 1 GiB`)
      assert.equal(container.State.Health.Status, 'healthy', name)
      // Start-up to ready: from the container's start to the replica's own "replica ready" log line.
      const ready = logEntries(await podman(['logs', name])).find((entry) => entry.msg === 'replica ready')
      assert.ok(ready, `${name} logged "replica ready"`)
      startups.push(ready.time - Date.parse(container.State.StartedAt.replace(/\.(\d{3})\d*/, '.$1')))
    }
    t.diagnostic(`replica container start to ready: ${startups.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`)
    for (const name of [project!.container('gateway'), ...replicaNames()]) {
      assert.equal((await inspect('container', name)).HostConfig.ReadonlyRootfs, true, `${name}: read-only root`)
      assert.equal((await podman(['exec', name, 'id', '-u'])).trim(), '1000', `${name}: runs as node (uid 1000)`)
      await assert.rejects(podman(['exec', name, 'touch', '/app/probe']), /Read-only file system/)
      await podman(['exec', name, 'touch', '/tmp/probe'])
    }
  })

  test('predictions: the gateway finds the replicas by DNS and its answers come from all three', async (t) => {
    const ips = (await Promise.all(replicaNames().map(ipOf))).sort()
    const listed = (await routableReplicas()).map((r: { url: string }) => new URL(r.url).hostname).sort()
    assert.deepEqual(listed, ips)
    // One slot per replica: concurrent requests spread over all of them (least outstanding first).
    const served = new Set<string>()
    let answered = 0
    for (let round = 0; round < 20 && served.size < REPLICAS; round++) {
      const outcomes = await Promise.all(Array.from({ length: 2 * REPLICAS }, (_, i) => predict(round + i)))
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 200, JSON.stringify(outcome))
        served.add(new URL(outcome.replica!).hostname)
      }
      answered += outcomes.length
    }
    t.diagnostic(`${answered} predictions, all 200, served by ${served.size} replicas`)
    assert.deepEqual([...served].sort(), ips)
  })

  test('the gateway alone on a read-only root (--read-only --tmpfs /tmp), no data volume: predictions served, batch jobs disabled in one log line', async (t) => {
    // What Kubernetes' readOnlyRootFilesystem does without a volume for DATA_DIR; static discovery of the replicas.
    const name = `switchyard-read-only-gateway-${process.pid}`
    const port = await freePort()
    const replicas = (await Promise.all(replicaNames().map(ipOf))).map((ip) => `http://${ip}:8081`)
    const networks = (await inspect('container', project!.container('gateway'))).NetworkSettings.Networks
    t.after(() => podman(['rm', '--force', name]).catch(() => undefined))
    await podman([
      ...['run', '--detach', '--name', name, '--read-only', '--tmpfs', '/tmp'],
      ...['--network', Object.keys(networks)[0]!, '--publish', `127.0.0.1:${port}:8080`],
      ...['--env', 'DISCOVERY=static', '--env', `REPLICAS=${replicas.join(',')}`, '--env', 'AUTOSCALER=none'],
      ...['--env', 'HOST=0.0.0.0', tag],
    ])
    const url = `http://127.0.0.1:${port}`
    // Its whole output: `podman logs` gives the container's stderr (where a crash's stack trace goes) on stderr.
    const output = () => {
      const logs = spawnSync('podman', ['logs', name], { encoding: 'utf8' })
      return `${logs.stdout}${logs.stderr}`
    }
    const readyBy = Date.now() + 60_000
    while ((await call(`${url}/readyz`).catch(() => undefined))?.status !== 200) {
      const { Running } = (await inspect('container', name)).State
      assert.ok(
        Running && Date.now() < readyBy,
        `the read-only gateway is not ready (running: ${Running}):\n${output()}`,
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const prediction = await predictAt(url, 0)
    assert.equal(prediction.status, 200, JSON.stringify(prediction))
    const batch = await postJson(`${url}/batch`, { model: 'resnet18', dataset: 'imagenet-sample' })
    assert.equal(batch.status, 503, JSON.stringify(batch.body))
    assert.equal(errorCode(batch), 'batch_disabled')
    await podman(['stop', '--time', '30', name], 60_000)
    const log = output()
    const disabled = logEntries(log).filter((entry) => entry.msg?.includes('batch jobs disabled'))
    assert.equal(disabled.length, 1, log)
    assert.match(disabled[0]!.msg!, /DATA_DIR \/data .*set DATA_DIR to a writable directory/)
    assert.doesNotMatch(log, /^\s+at /m, 'no stack trace')
    assert.equal((await inspect('container', name)).State.ExitCode, 0)
    t.diagnostic(`read-only gateway: ${disabled[0]!.msg}`)
  })

  test('Prometheus scrapes every container and loads the alert rules', async () => {
    const expected = [
      `gateway ${await ipOf(project!.container('gateway'))}:8080`,
      ...(await Promise.all(replicaNames().map(ipOf))).map((ip) => `replica ${ip}:8081`),
    ].sort()
    type Target = { labels: { job: string; instance: string }; health: string }
    let up: string[] = []
    const deadline = Date.now() + 60_000
    // DNS discovery refreshes and scrapes every 5 s: ask until every container has been scraped successfully.
    while (Date.now() < deadline) {
      const targets = (await call(`${prometheus}/api/v1/targets`)).body.data.activeTargets as Target[]
      up = targets.filter((t) => t.health === 'up').map((t) => `${t.labels.job} ${t.labels.instance}`)
      if (up.length === expected.length) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    assert.deepEqual(up.sort(), expected)
    const alerts = YAML.parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'))
    const loaded = (await call(`${prometheus}/api/v1/rules`)).body.data.groups
    assert.deepEqual(
      loaded.map((g: { name: string; rules: { name: string }[] }) => [g.name, g.rules.map((r) => r.name)]),
      alerts.groups.map((g: { name: string; rules: { alert: string }[] }) => [g.name, g.rules.map((r) => r.alert)]),
    )
  })

  test('one replica stopped under load drains: every request answered 200, exit code 0', async (t) => {
    const names = new Map(await Promise.all(replicaNames().map(async (name) => [await ipOf(name), name] as const)))
    const outcomes: Outcome[] = []
    let sending = true
    const clients = Array.from({ length: REPLICAS + 1 }, async (_, c) => {
      // A long deadline: with one replica fewer the queue grows, and the gateway's SLO admission would shed.
      for (let i = c; sending; i += REPLICAS + 1) outcomes.push(await predict(i, { 'x-timeout-ms': '30000' }))
    })
    while (outcomes.length < 12) await new Promise((resolve) => setTimeout(resolve, 20))
    // The victim is a replica with a request in flight right now, so that its drain has something to finish.
    let victimUrl: string | undefined
    while (!victimUrl) {
      const busy = (await routableReplicas()).find((r: { outstanding: number }) => r.outstanding > 0)
      victimUrl = busy?.url
    }
    const victim = names.get(new URL(victimUrl).hostname)!
    await podman(['stop', '--time', '30', victim], 60_000)
    const stopped = outcomes.length
    while (outcomes.length < stopped + 12) await new Promise((resolve) => setTimeout(resolve, 20))
    sending = false
    await Promise.all(clients)
    const failed = outcomes.filter((o) => o.status !== 200)
    assert.equal(failed.length, 0, `not answered with a prediction: ${JSON.stringify(failed)}`)
    const state = (await inspect('container', victim)).State
    assert.equal(state.Status, 'exited')
    assert.equal(state.ExitCode, 0)
    const signalled = logEntries(await podman(['logs', victim])).find((e) => e.msg?.startsWith('draining before exit'))
    assert.ok(signalled, `${victim} logged the SIGTERM`)
    const drained = outcomes.filter((o) => o.replica === victimUrl && o.at >= signalled.time).length
    t.diagnostic(`${outcomes.length} requests, all 200; ${drained} answered by ${victim} after its SIGTERM`)
  })

  test('docker-compose stop: the gateway answers every request it accepted, then every container exits 0', async (t) => {
    // Clients keep the gateway's queue full until its SIGTERM is seen in its log, so work is certainly queued when the
    // signal comes, however long docker-compose takes to send it (a fixed amount of work drained before it on a busy
    // machine). A long deadline, so admission takes everything up to the queue's bound.
    const CLIENTS = 48
    const outcomes: (Outcome & { sentAt: number })[] = []
    let sending = true
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = c; sending; i += CLIENTS) {
        const sentAt = Date.now()
        outcomes.push({ ...(await predict(i, { 'x-timeout-ms': '60000' })), sentAt })
      }
    })
    const queuedBy = Date.now() + 30_000
    while (metric((await call(`${gateway}/metrics`)).body, 'gateway_queue_size') === 0) {
      assert.ok(Date.now() < queuedBy, 'the gateway queued none of the requests')
    }
    const gatewayContainer = project!.container('gateway')
    const draining = async () =>
      logEntries(await podman(['logs', gatewayContainer])).find((e) => e.msg?.startsWith('draining before exit'))
    const stopped = project!.compose(['stop'], 120_000)
    let signalled = await draining()
    while (!signalled) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      signalled = await draining()
    }
    sending = false
    await stopped
    await Promise.all(clients)
    // Sent before the signal (less 50 ms for a request still unread in its socket): accepted, so answered with a
    // prediction. Sent after it: a prediction, a clean 503 while it drains, or no connection once it has closed.
    const before = outcomes.filter((o) => o.sentAt < signalled.time - 50)
    assert.deepEqual(
      before.filter((o) => o.status !== 200),
      [],
      'accepted requests not answered with a prediction',
    )
    const after = outcomes.filter((o) => o.sentAt >= signalled.time - 50)
    assert.deepEqual(
      after.filter((o) => o.status !== 200 && o.status !== 0 && !(o.status === 503 && o.code === 'shutting_down')),
      [],
    )
    const drained = outcomes.filter((o) => o.status === 200 && o.at > signalled.time).length
    t.diagnostic(
      `${outcomes.length} requests, ${before.length} before the gateway's SIGTERM; ${drained} answered after it`,
    )
    assert.ok(drained > 0, 'requests queued when SIGTERM came were answered')
    for (const name of await project!.containers()) {
      const state = (await inspect('container', name)).State
      assert.equal(`${name} ${state.Status} ${state.ExitCode}`, `${name} exited 0`)
    }
  })
})
