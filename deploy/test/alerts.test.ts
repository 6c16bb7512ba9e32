/**
 * deploy/prometheus/alerts.yml: valid for Prometheus (`promtool check rules`), each alert firing on its signal and
 * silent otherwise (`promtool test rules alerts.test.yml`), written over metrics the gateway really exports, and
 * shipped unchanged to Kubernetes as k8s/monitoring/prometheusrule.yaml.
 */
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import YAML from 'yaml'
import { startTestGateway } from '../../gateway/test/helpers.ts'
import { ALERTS_FILE, PROMETHEUS_RULE_FILE, prometheusRuleYaml } from '../prometheus/prometheus-rule.ts'
import { hasCommand, run } from './podman.ts'

const ALERT_TESTS_FILE = ALERTS_FILE.replace(/alerts\.yml$/, 'alerts.test.yml')
const alerts = YAML.parse(readFileSync(ALERTS_FILE, 'utf8')) as {
  groups: {
    name: string
    rules: { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }[]
  }[]
}
const rules = alerts.groups.flatMap((g) => g.rules)

/** The overload signals the issue asks alerts for, each with the alert that covers it. */
const SIGNALS = {
  'queue filling': 'SwitchyardQueueFilling',
  rejections: 'SwitchyardRejecting',
  'p99 over the SLO': 'SwitchyardLatencyOverSLO',
  'replicas ready below desired': 'SwitchyardReplicasBelowDesired',
  'a replica ejected': 'SwitchyardReplicaEjected',
  'no ready replica': 'SwitchyardNoReadyReplica',
  'no gateway metrics at all': 'SwitchyardGatewayDown',
}

const promtool = (args: string[]) => run('promtool', args, { timeoutMs: 60_000 })

describe('alert rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-alerts-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const skip = hasCommand('promtool') ? false : 'promtool is not installed (apt-get install prometheus)'

  test('one alert per overload signal, each with a severity, a summary and a description', () => {
    assert.deepEqual(rules.map((r) => r.alert).sort(), Object.values(SIGNALS).sort())
    for (const rule of rules) {
      assert.match(rule.labels.severity ?? '', /^(warning|critical)$/, rule.alert)
      assert.ok(rule.annotations.summary && rule.annotations.description, rule.alert)
    }
  })

  test('every metric the alerts read is one the gateway exports', async () => {
    // A real gateway: each subsystem registers its own metrics, so only a started one exports them all.
    const gateway = await startTestGateway([
      '--discovery',
      'static',
      '--replicas',
      'http://127.0.0.1:9',
      '--autoscaler',
      'none',
    ])
    let text: string
    try {
      text = await (await fetch(`${gateway.url}/metrics`)).text()
    } finally {
      await gateway.shutdown(1000)
    }
    const exported = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]))
    const read = new Set(rules.flatMap((r) => r.expr.match(/\bgateway_\w+/g) ?? []))
    assert.ok(read.size >= 8, [...read].join())
    for (const name of read) {
      const base = name.replace(/_(bucket|sum|count)$/, '')
      assert.ok(exported.has(base), `${name} is not exported by the gateway`)
    }
  })

  test('promtool check rules accepts the file, and refuses a broken copy', { skip }, async () => {
    assert.match(await promtool(['check', 'rules', ALERTS_FILE]), new RegExp(`SUCCESS: ${rules.length} rules found`))
    const broken = join(dir, 'broken.yml')
    writeFileSync(broken, readFileSync(ALERTS_FILE, 'utf8').replace('> 0.5', '> > 0.5'))
    await assert.rejects(promtool(['check', 'rules', broken]), /parse error/)
  })

  test('promtool test rules: each alert fires on its signal after its `for`, and only then', { skip }, async () => {
    const tests = YAML.parse(readFileSync(ALERT_TESTS_FILE, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[]
    }
    const cases = tests.tests.flatMap((t) => t.alert_rule_test)
    for (const rule of rules) {
      const own = cases.filter((c) => c.alertname === rule.alert)
      assert.ok(
        own.some((c) => c.exp_alerts.length > 0),
        `${rule.alert}: a case where it fires`,
      )
      assert.ok(
        own.some((c) => c.exp_alerts.length === 0),
        `${rule.alert}: a case where it stays silent`,
      )
    }
    assert.match(await promtool(['test', 'rules', ALERT_TESTS_FILE]), /SUCCESS/)
    // The same tests against rules with one threshold moved must fail: they test the rules, not themselves.
    copyFileSync(ALERT_TESTS_FILE, join(dir, 'alerts.test.yml'))
    writeFileSync(
      join(dir, 'alerts.yml'),
      readFileSync(ALERTS_FILE, 'utf8').replace('gateway_queue_limit) > 0.5', 'gateway_queue_limit) > 0.6'),
    )
    await assert.rejects(promtool(['test', 'rules', join(dir, 'alerts.test.yml')]), /SwitchyardQueueFilling/)
  })

  test('k8s/monitoring/prometheusrule.yaml carries exactly these rules (npm run alerts:k8s rewrites it)', () => {
    assert.equal(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), prometheusRuleYaml())
    const rule = YAML.parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'))
    assert.equal(rule.kind, 'PrometheusRule')
    assert.deepEqual(rule.spec.groups, alerts.groups)
  })

  test('compose and npm run stack load the rules: prometheus.yml names alerts.yml', () => {
    const config = YAML.parse(readFileSync(ALERTS_FILE.replace(/alerts\.yml$/, 'prometheus.yml'), 'utf8'))
    assert.deepEqual(config.rule_files, ['alerts.yml'])
  })
})
