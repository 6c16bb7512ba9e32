import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

export const ALERTS_FILE = fileURLToPath(new URL('./alerts.yml', import.meta.url))
export const PROMETHEUS_RULE_FILE = fileURLToPath(new URL('../../k8s/monitoring/prometheusrule.yaml', import.meta.url))

/**
 * k8s/monitoring/prometheusrule.yaml: deploy/prometheus/alerts.yml's groups as a Prometheus Operator PrometheusRule.
 * Kustomize cannot include a file from outside its folder, so the manifest is generated (`npm run alerts:k8s`) and a
 * test keeps it equal to this.
 */
export function prometheusRuleYaml(alertsYaml = readFileSync(ALERTS_FILE, 'utf8')): string {
  const { groups } = YAML.parse(alertsYaml) as { groups: unknown[] }
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'switchyard-alerts' },
    spec: { groups },
  }
  return `# Generated from deploy/prometheus/alerts.yml by \`npm run alerts:k8s\`: edit that file, not this one.\n${YAML.stringify(rule, { lineWidth: 0 })}`
}
