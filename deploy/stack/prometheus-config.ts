import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

export const COMPOSE_PROMETHEUS_CONFIG = fileURLToPath(new URL('../prometheus/prometheus.yml', import.meta.url))

interface ScrapeConfig {
  job_name: string
  dns_sd_configs?: unknown
  file_sd_configs?: { files: string[]; refresh_interval: string }[]
  [key: string]: unknown
}

/**
 * The docker-compose Prometheus configuration, re-targeted at local processes: the same jobs and settings, with each
 * DNS discovery replaced by a targets file `<dir>/targets-<job>.json` that the stack keeps up to date.
 */
export function localPrometheusConfig(dir: string, scrapeInterval?: string): { yaml: string; jobs: string[] } {
  const config = YAML.parse(readFileSync(COMPOSE_PROMETHEUS_CONFIG, 'utf8')) as {
    global: Record<string, string>
    rule_files?: string[]
    scrape_configs: ScrapeConfig[]
  }
  // The config is written elsewhere: its rule files (the alerts) are named by their absolute paths.
  config.rule_files = (config.rule_files ?? []).map((file) => resolve(dirname(COMPOSE_PROMETHEUS_CONFIG), file))
  if (scrapeInterval)
    config.global = { ...config.global, scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval }
  for (const job of config.scrape_configs) {
    delete job.dns_sd_configs
    job.file_sd_configs = [{ files: [targetsFile(dir, job.job_name)], refresh_interval: '1s' }]
  }
  return { yaml: YAML.stringify(config), jobs: config.scrape_configs.map((j) => j.job_name) }
}

export function targetsFile(dir: string, job: string): string {
  return join(dir, `targets-${job}.json`)
}

/** Prometheus file_sd format: `[{"targets": ["host:port", ...]}]`. */
export function targetsJson(urls: readonly string[]): string {
  return JSON.stringify([{ targets: urls.map((url) => new URL(url).host) }])
}
