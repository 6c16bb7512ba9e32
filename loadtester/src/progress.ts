import cliProgress from 'cli-progress'
import type { RequestRecord } from './request-record.ts'

const WINDOW_S = 5

/** What the progress line shows: rate answered and p99 over the last seconds, errors so far. */
export function recentStats(records: readonly RequestRecord[], elapsedS: number) {
  const since = (elapsedS - WINDOW_S) * 1000
  const recent = records.filter((r) => r.answeredMs !== undefined && r.answeredMs >= since)
  const latencies = recent.map((r) => r.answeredMs! - r.intendedMs).sort((a, b) => a - b)
  const p99 =
    latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!
  const errors = records.filter((r) => r.status !== 200 && (r.answeredMs !== undefined || r.status !== 'error')).length
  return { rps: recent.length / Math.min(WINDOW_S, Math.max(elapsedS, 1)), p99, errors }
}

/** A cli-progress bar on a terminal; plain lines every 10 s otherwise (CI logs). */
export function createProgress(totalS: number, enabled: boolean) {
  const tty = enabled && process.stderr.isTTY
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: ' {bar} {value}/{total} s | {rps} req/s | p99 {p99} ms (last 5 s) | errors {errors}',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined
  bar?.start(totalS, 0, { rps: '0', p99: '0', errors: 0 })
  let lastLine = 0
  return {
    update(records: readonly RequestRecord[], elapsedS: number) {
      const stats = recentStats(records, elapsedS)
      const payload = { rps: stats.rps.toFixed(1), p99: stats.p99.toFixed(0), errors: stats.errors }
      if (bar) bar.update(Math.min(totalS, Math.floor(elapsedS)), payload)
      else if (enabled && elapsedS - lastLine >= 10) {
        lastLine = elapsedS
        console.error(
          `${Math.floor(elapsedS)}/${totalS} s | ${payload.rps} req/s | p99 ${payload.p99} ms | errors ${payload.errors}`,
        )
      }
    },
    stop() {
      bar?.stop()
    },
  }
}
