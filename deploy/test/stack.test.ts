import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import YAML from 'yaml'
import { call, postImage } from '../../common/http/call.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { freePort } from '../../common/testing/free-port.ts'
import { startStack } from '../stack/stack.ts'

const hasPrometheus = spawnSync('sh', ['-c', 'command -v prometheus']).status === 0
const dashboard = JSON.parse(
  readFileSync(fileURLToPath(new URL('../grafana/dashboards/switchyard.json', import.meta.url)), 'utf8'),
)
const queries: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr))

async function query(prometheus: string, expr: string): Promise<unknown[]> {
  const response = await request(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await response.body.json()) as { status: string; data?: { result: unknown[] }; error?: string }
  assert.equal(body.status, 'success', `${expr}: ${body.error}`)
  return body.data!.result
}

test('npm run stack: Prometheus scrapes the gateway and the replicas, and every dashboard query returns data; the alert rules evaluate', {
  skip: hasPrometheus ? false : 'prometheus is not installed (apt-get install prometheus)',
}, async () => {
  const stack = await startStack({
    port: 0,
    replicas: 2,
    prometheusPort: await freePort(),
    scrapeInterval: '1s',
    gatewayArgs: ['--autoscaler', 'none'],
  })
  const images = someSampleImages(8, 57).map((i) => i.bytes())
  let sending = true
  const traffic = (async () => {
    for (let i = 0; sending; i++) {
      const response = await postImage(`${stack.gatewayUrl}/predict`, images[i % images.length]!)
      assert.equal(response.status, 200)
    }
  })()
  try {
    assert.equal((await call(`${stack.gatewayUrl}/readyz`)).status, 200)
    // Prometheus needs a few scrapes before rate() over [1m] has two points, and the second replica may still be
    // starting: ask until every query answers and every target is up.
    const deadline = Date.now() + 90_000
    let missing = queries
    let upJobs: string[] = []
    while (Date.now() < deadline) {
      const answers = await Promise.all(missing.map((expr) => query(stack.prometheusUrl, expr)))
      missing = missing.filter((_, i) => answers[i]!.length === 0)
      const up = (await query(stack.prometheusUrl, 'up == 1')) as { metric: { job: string } }[]
      upJobs = up.map((s) => s.metric.job).sort()
      if (missing.length === 0 && upJobs.length === 3) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    assert.deepEqual(missing, [], 'dashboard queries without data')
    assert.deepEqual(upJobs, ['gateway', 'replica', 'replica'])
    // The alert rules (deploy/prometheus/alerts.yml) are loaded and evaluate without error on the real metrics.
    type Rule = { name: string; health: string; lastError?: string }
    let rules: Rule[] = []
    while (Date.now() < deadline) {
      const response = await request(`${stack.prometheusUrl}/api/v1/rules`)
      const body = (await response.body.json()) as { data: { groups: { rules: Rule[] }[] } }
      rules = body.data.groups.flatMap((g) => g.rules)
      if (rules.length > 0 && rules.every((r) => r.health !== 'unknown')) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const alerts = YAML.parse(readFileSync(fileURLToPath(new URL('../prometheus/alerts.yml', import.meta.url)), 'utf8'))
    assert.equal(rules.length, alerts.groups[0].rules.length)
    assert.deepEqual(
      rules.filter((r) => r.health !== 'ok'),
      [],
      'alert rules that failed to evaluate',
    )
  } finally {
    sending = false
    await traffic
    await stack.stop()
  }
})
