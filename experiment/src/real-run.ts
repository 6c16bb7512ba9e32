import { join } from 'node:path'
import { request } from 'undici'
import { untilOk } from '../../common/http/until-ok.ts'
import { metric } from '../../common/measure/prometheus-sample.ts'
import { percentile } from '../../common/percentile.ts'
import { spawnService } from '../../common/service-process.ts'
import type { StandbySetting } from '../../gateway/src/autoscale/standby-count.ts'
import type { LoadImage } from '../../loadtester/src/images.ts'
import { latencyMs, type RequestRecord } from '../../loadtester/src/request-record.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import { summarize } from '../../loadtester/src/stats.ts'
import type { GatewayGauges, ScalingController } from '../../simulator/src/controllers/cluster-state.ts'
import type { BootBoost } from './boot-boost.ts'
import { LocalCluster, type PodRecord } from './local-cluster.ts'
import type { StandbyOptions } from './standby-options.ts'

export interface RealRunOptions {
  controller: ScalingController
  /** Its first `warmupS` seconds are a warm-up: played and scaled on, not measured (requests, cost, timeline). */
  workload: readonly number[]
  warmupS: number
  images: readonly LoadImage[]
  seed: number
  cores: number
  /** A start-up CPU boost for new pods. */
  bootBoost: BootBoost
  provisioningMs: number
  maxReplicas: number
  /** The gateway's STANDBY, and how the local cluster holds and promotes standbys (for a controller that asks). */
  standby: { setting: StandbySetting } & StandbyOptions
  /** What the gateway's own autoscaler assumes a new replica takes (--replica-startup-s). */
  startupS: number
  sloMs: number
  timeoutMs: number
  /** A folder of this run's own: the replicas file and the decision log go there. */
  dir: string
  /** The registry state file the gateway reads (this run's own: a brownout fallback, or none). */
  registryFile: string
  /** The replicas' models folder (where a brownout fallback is served from); undefined: their default. */
  modelsDir?: string
  log: (message: string) => void
}

export interface RealSecond {
  second: number
  spec: number
  pending: number
  booting: number
  ready: number
  /** Pods existing at the end of the second, terminating ones included: what is paid for. */
  paid: number
  desiredGauge: number
  inSystem: number
  /**
   * Standbys waiting at the standby quota (booted, not being promoted); in `paid` too. A booting standby boots at
   * full CPU, so it counts as a full pod in the requested cost.
   */
  standbys?: number
  /** Resident memory of every replica process, MB. */
  residentMb?: number
}

export interface RealRunResult {
  policy: string
  requests: number
  /** Share of requests over the SLO or not answered 200 (1 − the load tester's SLO attainment). */
  slowShare: number
  failed: number
  /** Answers by HTTP status (or timeout / error). */
  statuses: Record<string, number>
  /** Share of requests answered 200 by a fallback (brownout, `degraded: true`); 0 without one. */
  degradedShare: number
  /** Brownout: the fallback's mean upstream time over the model's, as measured in this run (what to simulate). */
  fallbackServiceRatio?: number
  p50Ms: number
  p99Ms: number
  replicaSeconds: number
  /**
   * Core-seconds requested: every pod at --cores, less what a waiting standby does not request (it asks for the
   * standby quota only). replicaSeconds × cores is the other side: what must be free on the node for every resize.
   */
  requestedCoreSeconds: number
  nodeCoreSeconds: number
  /** Seconds of standbys waiting (booted, at the standby quota). */
  standbySeconds: number
  /** Replica RSS × time, MB·s (sampled each second). */
  memoryMbSeconds: number
  /** CPU and throttling of every pod over the whole run, warm-up included (cgroup counters are not split). */
  cpuSeconds: number
  throttledSeconds: number
  /** Seconds from a pod's creation to ready, for pods created during the run. */
  startupS: number[]
  timeline: RealSecond[]
  /** p99 latency of the requests of each workload second (failed ones as the client's timeout), ms. */
  p99BySecond: (number | null)[]
  pods: PodRecord[]
}

/** The gauges a Prometheus scrape of the gateway would read now. */
async function scrapeGauges(gatewayUrl: string): Promise<GatewayGauges> {
  const response = await request(`${gatewayUrl}/metrics`, { signal: AbortSignal.timeout(2000) })
  const text = await response.body.text()
  return {
    desiredReplicas: metric(text, 'gateway_desired_replicas'),
    inSystem: metric(text, 'gateway_queue_size') + metric(text, 'gateway_workers_busy'),
    desiredStandbys: metric(text, 'gateway_desired_standbys'),
  }
}

/** The fallback's mean upstream time over the model's, when both answered in this run. */
function fallbackServiceRatio(records: readonly RequestRecord[]): { fallbackServiceRatio?: number } {
  const meanOf = (degraded: boolean) => {
    const times = records.flatMap((r) =>
      r.status === 200 && r.upstreamMs !== undefined && (r.degraded === true) === degraded ? [r.upstreamMs] : [],
    )
    return times.length === 0 ? undefined : times.reduce((a, b) => a + b, 0) / times.length
  }
  const fallback = meanOf(true)
  const model = meanOf(false)
  return fallback === undefined || model === undefined ? {} : { fallbackServiceRatio: fallback / model }
}

/** Pod-seconds within [startMs, endMs]: from each pod's creation (the decision) until its process is gone. */
export function replicaSeconds(pods: readonly PodRecord[], endMs: number, startMs = 0): number {
  let ms = 0
  for (const pod of pods) ms += Math.max(0, Math.min(pod.goneAt ?? endMs, endMs) - Math.max(pod.createdAt, startMs))
  return ms / 1000
}

/**
 * One policy for real: a local cluster of CPU-limited replicas behind a gateway (static discovery on the cluster's
 * replicas file, its autoscaler as a signal only), the controller ticked once a second with what a cluster would
 * show it (pods, their cgroup CPU, the gateway's gauges), and the workload replayed open-loop against it.
 */
export async function runReal(options: RealRunOptions): Promise<RealRunResult> {
  const { controller } = options
  const cluster = new LocalCluster({
    cores: options.cores,
    bootBoost: options.bootBoost,
    provisioningMs: options.provisioningMs,
    replicasFile: join(options.dir, 'replicas.txt'),
    replicaArgs: [
      ...['--log-level', 'warn', '--intra-op-threads', '1'],
      ...(options.modelsDir === undefined ? [] : ['--models-dir', options.modelsDir]),
    ],
    drainDelayMs: 2000,
    standby: { cores: options.standby.cores, resizeDelayMs: options.standby.resizeDelayMs },
  })
  cluster.on('log', (message) => options.log(message))
  const gateway = await spawnService('gateway', {
    args: [
      '--discovery',
      'static',
      '--replicas-file',
      join(options.dir, 'replicas.txt'),
      '--autoscaler',
      'none',
      // The simulator models one request per replica at a time (slotsPerReplica 1): the real run matches it.
      '--replica-slots',
      '1',
      '--min-replicas',
      '1',
      '--max-replicas',
      String(options.maxReplicas),
      '--replica-startup-s',
      String(options.startupS),
      '--slo-ms',
      String(options.sloMs),
      '--model-registry-file',
      options.registryFile,
      '--standby',
      String(options.standby.setting),
      '--log-level',
      'warn',
    ],
  })
  const timeline: RealSecond[] = []
  const decisions: string[] = []
  try {
    // Warm start, then wait for the gateway to route to every initial pod: the run measures scaling, not boot.
    cluster.scaleTo(controller.initialReplicas)
    await cluster.untilReady(controller.initialReplicas)
    await untilOk(`${gateway.url}/readyz`, 'the gateway', 60_000)
    cluster.rebase()
    let tick = 0
    let stopped = false
    let gauges: GatewayGauges = { desiredReplicas: controller.initialReplicas, inSystem: 0 }
    let standbyTarget = 0
    const loop = (async () => {
      while (!stopped) {
        const now = tick * 1000
        gauges = await scrapeGauges(gateway.url).catch(() => gauges)
        const phases = cluster.phases()
        const state = { now, specReplicas: cluster.specReplicas, pods: cluster.pods(), gauges }
        const next = controller.tick(state) ?? cluster.specReplicas
        const standbys = controller.standbys?.(state) ?? 0
        if (next !== cluster.specReplicas || standbys !== standbyTarget) {
          decisions.push(
            `${tick} s: ${cluster.specReplicas} → ${next}${standbys || standbyTarget ? ` (+${standbyTarget} → +${standbys} standby)` : ''}`,
          )
          standbyTarget = standbys
          cluster.scaleTo(next, standbys)
        }
        timeline.push({
          second: tick,
          spec: cluster.specReplicas,
          ...phases,
          paid: phases.pending + phases.booting + phases.ready + phases.terminating,
          desiredGauge: gauges.desiredReplicas,
          inSystem: gauges.inSystem,
          standbys: cluster.standbys().filter((s) => s.phase === 'ready' && !s.promoting).length,
          residentMb: cluster.residentMb(),
        })
        tick++
        // Drift-free: the next tick at its own second of the run, however long this one took.
        const wait = tick * 1000 - cluster.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      }
    })()
    const result = await runLoad({
      target: gateway.url,
      workload: options.workload,
      arrival: 'poisson',
      seed: options.seed,
      images: options.images,
      timeoutMs: options.timeoutMs,
      // No X-Timeout-Ms: the gateway judges requests by its SLO, as it does for clients that send none.
      sendDeadlineHeader: false,
      concurrencyCap: 1024,
      pollReplicas: false,
    })
    const endMs = options.workload.length * 1000
    stopped = true
    await loop
    const pods = cluster.records()
    const { warmupS } = options
    const records = result.records.filter((r) => r.second >= warmupS)
    const summary = summarize(records, [], options.sloMs, options.workload.length - warmupS)
    const latencies = records.flatMap((r) => (r.status === 200 ? [latencyMs(r)!] : []))
    const created = pods.filter((p) => p.createdAt >= 0 && p.readyAt !== undefined)
    const seconds = timeline.slice(warmupS, options.workload.length).map((t) => ({ ...t, second: t.second - warmupS }))
    const standbySeconds = seconds.reduce((n, t) => n + (t.standbys ?? 0), 0)
    const podSeconds = replicaSeconds(pods, endMs, warmupS * 1000)
    return {
      policy: controller.name,
      requests: records.length,
      slowShare: 1 - summary.slo_attainment,
      failed: records.length - (summary.by_status['200'] ?? 0),
      statuses: summary.by_status,
      degradedShare: summary.degraded.share,
      ...fallbackServiceRatio(records),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      replicaSeconds: podSeconds,
      requestedCoreSeconds: podSeconds * options.cores - standbySeconds * (options.cores - options.standby.cores),
      nodeCoreSeconds: podSeconds * options.cores,
      standbySeconds,
      memoryMbSeconds: seconds.reduce((n, t) => n + (t.residentMb ?? 0), 0),
      cpuSeconds: pods.reduce((s, p) => s + p.cpuSeconds, 0),
      throttledSeconds: pods.reduce((s, p) => s + p.throttledSeconds, 0),
      startupS: created.map((p) => (p.readyAt! - p.createdAt) / 1000),
      timeline: seconds,
      p99BySecond: options.workload.slice(warmupS).map((_, i) => {
        const inSecond = records.filter((r) => r.second === warmupS + i)
        const values = inSecond.map((r) => (r.status === 200 ? latencyMs(r)! : options.timeoutMs))
        return values.length === 0 ? null : Math.round(percentile(values, 0.99))
      }),
      pods,
    }
  } finally {
    await cluster.close()
    gateway.child.kill('SIGTERM')
    await gateway.exited
    options.log(`decisions: ${decisions.join(', ') || 'none'}`)
  }
}
