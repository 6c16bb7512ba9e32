import type { RequestRecord } from './request-record.ts'
import type { TimelineRow } from './stats.ts'

function cell(value: unknown): string {
  if (value === undefined || value === null) return ''
  const text = typeof value === 'number' ? String(Math.round(value * 1000) / 1000) : String(value)
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const line = (cells: unknown[]) => `${cells.map(cell).join(',')}\n`

export function requestsCsv(records: readonly RequestRecord[]): string {
  const header = [
    'index',
    'intended_ms',
    'sent_ms',
    'answered_ms',
    'status',
    'latency_ms',
    'queue_size',
    'upstream_ms',
    'replica',
    'predicted',
    'truth',
    'image',
    'degraded',
  ]
  return (
    line(header) +
    records
      .map((r) =>
        line([
          r.index,
          r.intendedMs,
          r.sentMs,
          r.answeredMs,
          r.status,
          r.answeredMs === undefined ? undefined : r.answeredMs - r.intendedMs,
          r.queueSize,
          r.upstreamMs,
          r.replica,
          r.predicted,
          r.truth,
          r.image,
          r.degraded === true ? 1 : 0,
        ]),
      )
      .join('')
  )
}

export function timelineCsv(rows: readonly TimelineRow[]): string {
  const errorKinds = [...new Set(rows.flatMap((r) => Object.keys(r.errors)))].sort()
  const header = [
    'second',
    'offered',
    'sent',
    'ok',
    ...errorKinds.map((k) => `errors_${k}`),
    'p50_ms',
    'p95_ms',
    'p99_ms',
    'max_queue_size',
    'replicas_ready',
    'replicas_total',
    'replicas_desired',
    'degraded',
  ]
  return (
    line(header) +
    rows
      .map((r) =>
        line([
          r.second,
          r.offered,
          r.sent,
          r.ok,
          ...errorKinds.map((k) => r.errors[k] ?? 0),
          r.p50,
          r.p95,
          r.p99,
          r.max_queue_size,
          r.replicas_ready,
          r.replicas_total,
          r.replicas_desired,
          r.degraded,
        ]),
      )
      .join('')
  )
}
