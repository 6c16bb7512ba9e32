/** `npm run alerts:k8s`: writes k8s/monitoring/prometheusrule.yaml from deploy/prometheus/alerts.yml. */
import { writeFileSync } from 'node:fs'
import { configFromCommandLine } from '../../common/command-line.ts'
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml } from './prometheus-rule.ts'

configFromCommandLine(
  'alerts:k8s',
  {},
  undefined,
  'Writes k8s/monitoring/prometheusrule.yaml (a PrometheusRule) from the alert rules in deploy/prometheus/alerts.yml.',
)
writeFileSync(PROMETHEUS_RULE_FILE, prometheusRuleYaml())
console.log(`written to ${PROMETHEUS_RULE_FILE}`)
