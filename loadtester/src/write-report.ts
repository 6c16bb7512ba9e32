import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { requestsCsv, timelineCsv } from './csv.ts'
import { reportHtml } from './report-html.ts'
import type { LoadResult } from './runner.ts'
import { type Summary, summarize, timeline } from './stats.ts'

export interface RunDescription {
  target: string
  workload: string
  scale: number
  arrival: string
  seed: number
  timeoutMs: number
  sloMs: number
  seconds: number
}

/** Writes summary.json, requests.csv, timeline.csv and report.html into `dir`; returns the summary. */
export function writeReport(dir: string, run: RunDescription, result: LoadResult): Summary {
  mkdirSync(dir, { recursive: true })
  const summary = summarize(
    result.records,
    result.replicas,
    run.sloMs,
    Math.min(result.durationS, run.seconds) || result.durationS,
  )
  const rows = timeline(result.records, result.replicas, run.seconds)
  const document = {
    run: {
      ...run,
      started_at: result.startedAt.toISOString(),
      duration_s: result.durationS,
      interrupted: result.interrupted,
    },
    model: result.model ?? null,
    ...summary,
  }
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(document, null, 2)}\n`)
  writeFileSync(join(dir, 'requests.csv'), requestsCsv(result.records))
  writeFileSync(join(dir, 'timeline.csv'), timelineCsv(rows))
  const title = `Switchyard load test${result.interrupted ? ' (interrupted)' : ''}`
  writeFileSync(
    join(dir, 'report.html'),
    reportHtml(
      {
        title,
        target: run.target,
        workload: run.workload,
        startedAt: result.startedAt.toISOString(),
        model: result.model,
      },
      summary,
      rows,
    ),
  )
  return summary
}
