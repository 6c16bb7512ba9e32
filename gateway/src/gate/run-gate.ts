import { request } from 'undici'
import { bearerHeader } from '../../../common/auth/token-set.ts'
import { recordGateVerdict } from '../../../common/model-registry/state-file.ts'
import { type BatchJobView, runBatchJobOverHttp } from '../batch/batch-client.ts'
import type { BatchResults } from '../batch/batch-results.ts'
import { type GateThresholds, type GateVerdict, gateVerdict } from './gate-rules.ts'

export interface GateRequest {
  gatewayUrl: string
  model: string
  baseline: string
  candidate: string
  dataset: string
  limit: number | undefined
  thresholds: GateThresholds
  /**
   * Use each version's newest stored results (same dataset and limit) instead of evaluating it again. Their latencies
   * were then measured at another time: the p95 rule compares like with like only when both ran in this one run.
   */
  reuse: boolean
  /** Where the verdict is recorded (the registry state `promote` reads); undefined = not recorded. */
  registryFile: string | undefined
  onProgress?: (version: string, job: BatchJobView) => void
  /** A batch or admin token, for a gateway with a TOKENS_FILE. */
  token?: string
}

export interface GateOutcome extends GateVerdict {
  baselineJob: BatchJobView & { results: BatchResults }
  candidateJob: BatchJobView & { results: BatchResults }
  /** The versions whose results were stored ones rather than evaluated now. */
  reused: string[]
}

export class GateError extends Error {
  override name = 'GateError'
}

/**
 * The regression gate: both versions evaluated on the same dataset through the gateway's batch jobs (the baseline
 * first, then the candidate, in this one run, so both latencies are measured under the same conditions), compared by
 * `gateVerdict`, and the verdict recorded with the candidate in the registry state, naming both jobs (whose results
 * the gateway keeps), so `promote` can refuse a candidate whose last gate failed.
 */
export async function runGate(gate: GateRequest): Promise<GateOutcome> {
  const spec = (version: string) => ({
    model: `${gate.model}@${version}`,
    dataset: gate.dataset,
    ...(gate.limit !== undefined && { limit: gate.limit }),
  })
  const stored = gate.reuse ? await storedJobs(gate.gatewayUrl, gate.token) : []
  const reusedVersions: string[] = []
  // Each version's newest stored result when asked to reuse one, else a job run now: the baseline first.
  const evaluate = async (version: string) => {
    const found = stored.find(
      (job) =>
        job.status === 'succeeded' &&
        job.model === spec(version).model &&
        job.dataset === gate.dataset &&
        job.limit === (gate.limit ?? null),
    )
    if (found) {
      reusedVersions.push(version)
      return found
    }
    return runBatchJobOverHttp(gate.gatewayUrl, spec(version), {
      onProgress: (job) => gate.onProgress?.(version, job),
      token: gate.token,
    })
  }
  const baseline = await evaluate(gate.baseline)
  const candidate = await evaluate(gate.candidate)
  const jobs = [baseline, candidate]
  const [baselineJob, candidateJob] = jobs.map(succeeded) as [GateOutcome['baselineJob'], GateOutcome['candidateJob']]
  const verdict = gateVerdict(baselineJob.results, candidateJob.results, gate.thresholds)
  if (gate.registryFile) {
    await recordGateVerdict(gate.registryFile, gate.model, gate.candidate, {
      passed: verdict.pass,
      at: new Date().toISOString(),
      baseline: gate.baseline,
      summary: `${gate.dataset}: ${verdict.rows.map((row) => `${row.rule} ${row.pass ? 'PASS' : 'FAIL'}`).join('; ')} (batch jobs ${baselineJob.id}, ${candidateJob.id})`,
    })
  }
  return { ...verdict, baselineJob, candidateJob, reused: reusedVersions }
}

function succeeded(job: BatchJobView): BatchJobView & { results: BatchResults } {
  if (job.status !== 'succeeded' || !job.results) {
    const why = job.error ? `${job.error.code}: ${job.error.message}` : job.status
    throw new GateError(`batch job ${job.id} (${job.model} on ${job.dataset}) did not succeed: ${why}`)
  }
  return job as BatchJobView & { results: BatchResults }
}

/** The gateway's stored batch jobs, newest first. */
async function storedJobs(gatewayUrl: string, token: string | undefined): Promise<BatchJobView[]> {
  const response = await request(`${gatewayUrl}/batch`, { headers: bearerHeader(token) })
  if (response.statusCode !== 200) throw new GateError(`GET ${gatewayUrl}/batch answered ${response.statusCode}`)
  return ((await response.body.json()) as { jobs: BatchJobView[] }).jobs
}

/** The verdict as a table people read, one rule a row, then the figures the rules do not judge. */
export function gateTable(outcome: GateOutcome, names: { baseline: string; candidate: string }): string {
  const percent = (value: number | null | undefined) => (value == null ? '—' : `${(value * 100).toFixed(2)} %`)
  const ms = (value: number | null | undefined) => (value == null ? '—' : `${value.toFixed(1)} ms`)
  const [accuracy, latency] = outcome.rows
  const b = outcome.baselineJob.results
  const c = outcome.candidateJob.results
  const rows = [
    ['rule', `baseline ${names.baseline}`, `candidate ${names.candidate}`, 'limit', 'verdict'],
    [
      accuracy!.rule,
      percent(accuracy!.baseline),
      percent(accuracy!.candidate),
      `≥ ${percent(accuracy!.limit)}`,
      verdictOf(accuracy!),
    ],
    [latency!.rule, ms(latency!.baseline), ms(latency!.candidate), `≤ ${ms(latency!.limit)}`, verdictOf(latency!)],
    ['top-5 accuracy (not judged)', percent(b.top5_accuracy), percent(c.top5_accuracy), '', ''],
    ['errors (not judged)', String(b.errors.count), String(c.errors.count), '', ''],
    ['images evaluated', String(b.evaluated), String(c.evaluated), '', ''],
    ['images/s', b.images_per_second.toFixed(1), c.images_per_second.toFixed(1), '', ''],
    [
      'batch job',
      `${outcome.baselineJob.id}${outcome.reused.includes(names.baseline) ? ' (stored)' : ''}`,
      `${outcome.candidateJob.id}${outcome.reused.includes(names.candidate) ? ' (stored)' : ''}`,
      '',
      '',
    ],
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n')
}

function verdictOf(row: { pass: boolean; note?: string }): string {
  return row.pass ? 'PASS' : `FAIL${row.note ? ` (${row.note})` : ''}`
}
