import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const composeFile = join(ROOT, 'docker-compose.yml')
const hasDockerCompose = spawnSync('sh', ['-c', 'command -v docker-compose']).status === 0

/** A resolved port: docker-compose 1.29 prints `127.0.0.1:8080:8080/tcp`, Compose v2 an object. */
function publishedPort(port: string | { host_ip?: string; published: string | number }) {
  if (typeof port !== 'string') return { host_ip: port.host_ip, published: Number(port.published) }
  const match = /^(?:([\d.]+):)?(\d+):\d+/.exec(port)
  return { host_ip: match?.[1], published: Number(match?.[2]) }
}

describe('docker-compose.yml', () => {
  test('docker-compose config accepts it, and refuses a broken copy', {
    skip: hasDockerCompose ? false : 'docker-compose is not installed (apt-get install docker-compose)',
  }, () => {
    execFileSync('docker-compose', ['-f', composeFile, 'config', '-q'], { cwd: ROOT, stdio: 'pipe' })
    const broken = YAML.parse(readFileSync(composeFile, 'utf8'))
    broken.services.replica.deploy.replicas = 'three'
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-compose-'))
    writeFileSync(join(dir, 'docker-compose.yml'), YAML.stringify(broken))
    const result = spawnSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config', '-q'], {
      encoding: 'utf8',
    })
    assert.notEqual(result.status, 0)
    assert.match(result.stderr, /replicas/)
  })

  test('the topology: 3 one-core replicas health-checked on /readyz; the gateway finds them by DNS once healthy', () => {
    const compose = YAML.parse(readFileSync(composeFile, 'utf8'))
    const { replica, gateway, prometheus, grafana } = compose.services
    assert.equal(replica.deploy.replicas, 3)
    assert.deepEqual(replica.deploy.resources.limits, { cpus: '1', memory: '1G' })
    assert.equal(replica.environment.PORT, '8081')
    for (const service of [replica, gateway]) {
      // The health check script reads PORT; no argument has a space (docker-compose 1.29 over podman splits on them).
      assert.deepEqual(service.healthcheck.test, ['CMD', 'node', 'common/healthcheck-cli.ts', '--path', '/readyz'])
      assert.equal(service.read_only, true)
    }
    // This machine only (loopback), and every interface inside the containers (their own network namespace).
    assert.deepEqual(
      gateway.ports,
      ['127.0.0.1:$' + '{GATEWAY_PORT:-8080}:8080'],
      'a compose variable, not a template string',
    )
    for (const service of [prometheus, grafana]) assert.match(service.ports[0], /^127\.0\.0\.1:/)
    assert.equal(gateway.environment.HOST, '0.0.0.0')
    assert.equal(replica.environment.HOST, '0.0.0.0')
    assert.equal(gateway.environment.DISCOVERY, 'dns')
    assert.equal(gateway.environment.REPLICA_DNS_NAME, 'replica')
    assert.deepEqual(gateway.depends_on, { replica: { condition: 'service_healthy' } })
    assert.ok(gateway.volumes.includes(`gateway-data:${gateway.environment.DATA_DIR}`), 'batch jobs on a named volume')
    assert.ok('gateway-data' in compose.volumes)
    assert.deepEqual(prometheus.volumes, ['./deploy/prometheus:/etc/prometheus:ro'], 'the config and its rule files')
    assert.ok(grafana.volumes.some((v: string) => v.startsWith('./deploy/grafana/dashboards:')))
  })

  test('images and published ports are variables with the upstream defaults (podman here, Docker elsewhere)', {
    skip: hasDockerCompose ? false : 'docker-compose is not installed (apt-get install docker-compose)',
  }, () => {
    const resolved = (env: Record<string, string>) =>
      YAML.parse(
        execFileSync('docker-compose', ['-f', composeFile, 'config'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH, ...env },
          encoding: 'utf8',
        }),
      ).services
    const defaults = resolved({})
    assert.equal(defaults.replica.image, 'switchyard:local')
    assert.equal(defaults.replica.build.args.NODE_IMAGE, 'node:24-bookworm-slim')
    assert.equal(defaults.prometheus.image, 'prom/prometheus:v2.53.1')
    assert.deepEqual(publishedPort(defaults.gateway.ports[0]), { host_ip: '127.0.0.1', published: 8080 })
    const custom = resolved({
      SWITCHYARD_IMAGE: 'localhost/switchyard:x',
      NODE_IMAGE: 'localhost/node:24',
      PROMETHEUS_IMAGE: 'localhost/prometheus:y',
      GRAFANA_IMAGE: 'localhost/grafana:z',
      GATEWAY_PORT: '18080',
    })
    assert.equal(custom.gateway.image, 'localhost/switchyard:x')
    assert.equal(custom.gateway.build.args.NODE_IMAGE, 'localhost/node:24')
    assert.equal(custom.prometheus.image, 'localhost/prometheus:y')
    assert.equal(custom.grafana.image, 'localhost/grafana:z')
    assert.deepEqual(publishedPort(custom.gateway.ports[0]), { host_ip: '127.0.0.1', published: 18080 })
  })

  test('Prometheus scrapes both services through DNS; Grafana gets a datasource and the dashboard', () => {
    const prometheus = YAML.parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'))
    const jobs = Object.fromEntries(
      prometheus.scrape_configs.map((j: { job_name: string; dns_sd_configs: unknown[] }) => [
        j.job_name,
        j.dns_sd_configs[0],
      ]),
    )
    assert.deepEqual(jobs.gateway, { names: ['gateway'], type: 'A', port: 8080, refresh_interval: '5s' })
    assert.deepEqual(jobs.replica, { names: ['replica'], type: 'A', port: 8081, refresh_interval: '5s' })
    const datasource = YAML.parse(
      readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    )
    assert.equal(datasource.datasources[0].url, 'http://prometheus:9090')
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/switchyard.json'), 'utf8'))
    const exprs = dashboard.panels
      .flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr))
      .join('\n')
    for (const metric of [
      'gateway_requests_total',
      'gateway_request_duration_seconds_bucket',
      'gateway_queue_size',
      'gateway_replica_outstanding',
      'gateway_replicas_ready',
      'gateway_desired_replicas',
      'gateway_rejected_total',
    ]) {
      assert.ok(exprs.includes(metric), `the dashboard shows ${metric}`)
    }
    const latency = dashboard.panels.find((p: { title: string }) => /Latency/.test(p.title))
    assert.equal(latency.fieldConfig.defaults.thresholds.steps[1].value, 0.5, 'the SLO line')
  })

  test('the Dockerfile: multi-stage, production dependencies only, non-root, tini, a health check, pretrained weights optional', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2)
    assert.match(dockerfile, /npm ci --omit=dev/)
    assert.match(dockerfile, /^USER node$/m)
    assert.match(dockerfile, /tini/)
    assert.match(dockerfile, /^HEALTHCHECK .* CMD \["node", "common\/healthcheck-cli\.ts"\]$/m)
    assert.match(dockerfile, /ARG FETCH_PRETRAINED=0/)
    // Outside a container the services listen on 127.0.0.1; the image listens on every interface of its own.
    assert.match(dockerfile, /^ENV .*\bHOST=0\.0\.0\.0\b/m)
    assert.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), /^node_modules$/m)
  })
})
