import { sameLabel } from '../../common/image-labels.ts'
import { percentileOfSorted } from '../../common/percentile.ts'
import { latencyMs, type ReplicaSample, type RequestRecord } from './request-record.ts'

export interface Percentiles {
  p50: number
  p90: number
  p95: number
  p99: number
  max: number
  mean: number
}

export interface Summary {
  sent: number
  answered: number
  not_sent: number
  timeouts: number
  transport_errors: number
  /** Requests that got no HTTP answer at all: not sent, timed out, or failed in transport. */
  dropped: number
  by_status: Record<string, number>
  latency_ms: Percentiles | null
  latency_from_send_ms: Percentiles | null
  schedule_lag_ms: Percentiles | null
  slo_ms: number
  /** Share of all scheduled requests answered 200 within the SLO. */
  slo_attainment: number
  /** Requests per second answered 200 within the SLO. */
  goodput_rps: number
  offered_rps: number
  /**
   * Brownout: 200s the gateway answered with a model's fallback (`degraded: true`), counted apart: how many, their
   * share of all scheduled requests and of the 200s, how many were within the SLO, and their own top-1 accuracy.
   */
  degraded: { answers: number; share: number; share_of_ok: number; within_slo: number; top1: number | null }
  /** Labels matched by name; top5 counts the answers that listed their five best classes. */
  accuracy: { top1: number; top5: number | null; evaluated: number } | null
  replicas: { mean_ready: number; max_ready: number; mean_desired: number | null; replica_seconds: number } | null
}

/**
 * Exact percentiles of every value (the load tester keeps all records anyway), by the common nearest-rank
 * definition, so they mean what the simulator's and the experiment's do.
 */
function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  const at = (p: number) => percentileOfSorted(sorted, p)
  let sum = 0
  for (const value of sorted) sum += value
  return {
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  }
}

export function summarize(
  records: readonly RequestRecord[],
  replicas: readonly ReplicaSample[],
  sloMs: number,
  durationS: number,
): Summary {
  const byStatus: Record<string, number> = {}
  for (const r of records) byStatus[String(r.status)] = (byStatus[String(r.status)] ?? 0) + 1
  const answered = records.filter((r) => typeof r.status === 'number')
  const withinSlo = records.filter((r) => r.status === 200 && latencyMs(r)! <= sloMs).length
  const evaluated = records.filter((r) => r.status === 200 && r.truth !== undefined && r.predicted !== undefined)
  const ok = records.filter((r) => r.status === 200)
  const degraded = ok.filter((r) => r.degraded === true)
  const degradedEvaluated = evaluated.filter((r) => r.degraded === true)
  const notSent = byStatus.not_sent ?? 0
  const timeouts = byStatus.timeout ?? 0
  const transportErrors = byStatus.error ?? 0
  const sent = records.length - notSent
  return {
    sent,
    answered: answered.length,
    not_sent: notSent,
    timeouts,
    transport_errors: transportErrors,
    dropped: notSent + timeouts + transportErrors,
    by_status: byStatus,
    latency_ms: percentiles(answered.map((r) => latencyMs(r)!)),
    latency_from_send_ms: percentiles(answered.map((r) => r.answeredMs! - r.sentMs!)),
    schedule_lag_ms: percentiles(
      records.filter((r) => r.sentMs !== undefined).map((r) => Math.max(0, r.sentMs! - r.intendedMs)),
    ),
    slo_ms: sloMs,
    slo_attainment: records.length === 0 ? 0 : withinSlo / records.length,
    goodput_rps: durationS > 0 ? withinSlo / durationS : 0,
    offered_rps: durationS > 0 ? records.length / durationS : 0,
    degraded: {
      answers: degraded.length,
      share: records.length === 0 ? 0 : degraded.length / records.length,
      share_of_ok: ok.length === 0 ? 0 : degraded.length / ok.length,
      within_slo: degraded.filter((r) => latencyMs(r)! <= sloMs).length,
      top1:
        degradedEvaluated.length === 0
          ? null
          : degradedEvaluated.filter((r) => sameLabel(r.predicted!, r.truth!)).length / degradedEvaluated.length,
    },
    accuracy:
      evaluated.length === 0
        ? null
        : {
            top1: evaluated.filter((r) => sameLabel(r.predicted!, r.truth!)).length / evaluated.length,
            top5: top5Accuracy(evaluated),
            evaluated: evaluated.length,
          },
    replicas:
      replicas.length === 0
        ? null
        : {
            mean_ready: replicas.reduce((s, r) => s + r.ready, 0) / replicas.length,
            max_ready: Math.max(...replicas.map((r) => r.ready)),
            mean_desired: replicas.some((r) => r.desired !== undefined)
              ? replicas.reduce((s, r) => s + (r.desired ?? 0), 0) / replicas.length
              : null,
            // One sample a second: the sum of replicas known is replica-seconds (cores paid for, with 1-core replicas).
            replica_seconds: replicas.reduce((s, r) => s + r.total, 0),
          },
  }
}

export interface TimelineRow {
  second: number
  /** Scheduled in this second (the workload's value, after --scale). */
  offered: number
  sent: number
  ok: number
  /** Of the 200s, answered by a fallback (brownout). */
  degraded: number
  /** Non-200 outcomes by status ("503", "timeout", ...). */
  errors: Record<string, number>
  p50: number | null
  p95: number | null
  p99: number | null
  max_queue_size: number | null
  replicas_ready: number | null
  /** All replicas the gateway knew (ready or not): what was paid for. */
  replicas_total: number | null
  replicas_desired: number | null
}

/** Per second of the workload: what was offered and sent, how it was answered, latency percentiles, queue, replicas. */
export function timeline(
  records: readonly RequestRecord[],
  replicas: readonly ReplicaSample[],
  seconds: number,
): TimelineRow[] {
  const rows: TimelineRow[] = Array.from({ length: seconds }, (_, second) => ({
    second,
    offered: 0,
    sent: 0,
    ok: 0,
    degraded: 0,
    errors: {},
    p50: null,
    p95: null,
    p99: null,
    max_queue_size: null,
    replicas_ready: null,
    replicas_total: null,
    replicas_desired: null,
  }))
  const latencies: number[][] = rows.map(() => [])
  for (const r of records) {
    const row = rows[r.second]
    if (!row) continue
    row.offered++
    if (r.sentMs !== undefined) row.sent++
    if (r.status === 200 && r.degraded === true) row.degraded++
    if (r.status === 200) row.ok++
    else row.errors[String(r.status)] = (row.errors[String(r.status)] ?? 0) + 1
    const latency = latencyMs(r)
    if (latency !== undefined) latencies[r.second]!.push(latency)
    if (r.queueSize !== undefined) row.max_queue_size = Math.max(row.max_queue_size ?? 0, r.queueSize)
  }
  for (const row of rows) {
    const p = percentiles(latencies[row.second]!)
    if (p) Object.assign(row, { p50: p.p50, p95: p.p95, p99: p.p99 })
  }
  for (const sample of replicas) {
    const row = rows[sample.second]
    if (!row) continue
    row.replicas_ready = sample.ready
    row.replicas_total = sample.total
    row.replicas_desired = sample.desired ?? null
  }
  return rows
}

function top5Accuracy(evaluated: readonly RequestRecord[]): number | null {
  const listed = evaluated.filter((r) => r.top5 !== undefined && r.top5.length > 0)
  if (listed.length === 0) return null
  return listed.filter((r) => r.top5!.some((label) => sameLabel(label, r.truth!))).length / listed.length
}
