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
    assert.match(replica.healthcheck.test.join(' '), /8081\/readyz/)
    assert.equal(replica.read_only, true)
    assert.deepEqual(gateway.ports, ['8080:8080'])
    assert.equal(gateway.environment.DISCOVERY, 'dns')
    assert.equal(gateway.environment.REPLICA_DNS_NAME, 'replica')
    assert.deepEqual(gateway.depends_on, { replica: { condition: 'service_healthy' } })
    assert.ok(gateway.volumes.includes(`gateway-data:${gateway.environment.DATA_DIR}`), 'batch jobs on a named volume')
    assert.ok('gateway-data' in compose.volumes)
    assert.ok(prometheus.volumes.some((v: string) => v.startsWith('./deploy/prometheus/prometheus.yml:')))
    assert.ok(grafana.volumes.some((v: string) => v.startsWith('./deploy/grafana/dashboards:')))
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
    assert.match(dockerfile, /^HEALTHCHECK /m)
    assert.match(dockerfile, /ARG FETCH_PRETRAINED=0/)
    assert.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), /^node_modules$/m)
  })
})
