import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { untilOk } from '../../common/http/until-ok.ts'
import { type ServiceProcess, spawnService } from '../../common/service-process.ts'
import { localPrometheusConfig, targetsFile, targetsJson } from './prometheus-config.ts'

export interface StackOptions {
  /** Gateway port (0 = any free one). */
  port: number
  replicas: number
  prometheusPort: number
  /** e.g. '1s' in tests; the compose file's interval otherwise. */
  scrapeInterval?: string
  /** Extra gateway flags. */
  gatewayArgs?: string[]
  onLog?: (line: string) => void
}

export interface RunningStack {
  gatewayUrl: string
  prometheusUrl: string
  stop(): Promise<void>
}

/**
 * The docker-compose topology as local processes: the gateway with its replica processes (`local` discovery) and
 * Prometheus from the Debian package, scraping them with the compose scrape configuration. The replica targets
 * follow the gateway's GET /replicas, so replicas the autoscaler adds are scraped too.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-stack-'))
  const gateway = await spawnService('gateway', {
    args: [
      '--discovery',
      'local',
      '--local-replicas',
      String(options.replicas),
      '--port',
      String(options.port),
      ...(options.gatewayArgs ?? []),
    ],
    onLog: options.onLog,
  })
  const { yaml } = localPrometheusConfig(dir, options.scrapeInterval)
  writeFileSync(join(dir, 'prometheus.yml'), yaml)
  writeTargets(dir, 'gateway', [gateway.url])
  writeTargets(dir, 'replica', [])
  mkdirSync(join(dir, 'data'))
  const prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${options.prometheusPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const prometheusUrl = `http://127.0.0.1:${options.prometheusPort}`
  const following = followReplicas(gateway, dir)
  try {
    await prometheusReady(prometheusUrl, prometheus)
    await untilOk(`${gateway.url}/readyz`, 'the gateway (no replica ready)')
  } catch (error) {
    await stopAll(gateway, prometheus, following, dir)
    throw error
  }
  return { gatewayUrl: gateway.url, prometheusUrl, stop: () => stopAll(gateway, prometheus, following, dir) }
}

/** Atomic write (temp file + rename): Prometheus must never read half a targets file. */
function writeTargets(dir: string, job: string, urls: readonly string[]): void {
  const file = targetsFile(dir, job)
  writeFileSync(`${file}.tmp`, targetsJson(urls))
  renameSync(`${file}.tmp`, file)
}

/** Keeps the replica targets file equal to the gateway's replica list (checked every second). */
function followReplicas(gateway: ServiceProcess, dir: string) {
  let last = ''
  const timer = setInterval(async () => {
    try {
      const response = await request(`${gateway.url}/replicas`, { signal: AbortSignal.timeout(900) })
      const body = (await response.body.json()) as { replicas: { url: string }[] }
      const urls = body.replicas.map((r) => r.url).sort()
      if (urls.join() !== last) writeTargets(dir, 'replica', urls)
      last = urls.join()
    } catch {
      // The gateway is starting or stopping; the next second tries again.
    }
  }, 1000)
  return { stop: () => clearInterval(timer) }
}

function prometheusReady(url: string, child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`prometheus exited (${code}) before it was ready`)
  })
  return Promise.race([exited, untilOk(`${url}/-/ready`, 'prometheus')])
}

async function stopAll(gateway: ServiceProcess, prometheus: ChildProcess, following: { stop(): void }, dir: string) {
  following.stop()
  const stopped = [gateway.exited, prometheus.exitCode === null ? once(prometheus, 'exit') : Promise.resolve()]
  gateway.child.kill('SIGTERM')
  prometheus.kill('SIGTERM')
  await Promise.all(stopped)
  rmSync(dir, { recursive: true, force: true })
}
