import { basename } from 'node:path'
import { configFromCommandLine } from '../../common/command-line.ts'
import { ConfigError } from '../../common/config.ts'
import { loadConfigSpec, loadLoadConfig, loadSummary } from './config.ts'
import { defaultImagesDir, loadImages } from './images.ts'
import { createProgress } from './progress.ts'
import { runLoad } from './runner.ts'
import { readWorkload, shapeWorkload } from './workload-file.ts'
import { writeReport } from './write-report.ts'

/** A file a flag names that is missing or malformed is a bad value of that flag: one line naming it, exit 2. */
function flagFile<T>(key: string, read: () => T): T {
  try {
    return read()
  } catch (error) {
    throw new ConfigError(key, (error as Error).message)
  }
}

// Flags first (--help exits here), then the files they name: each problem is one line, never a stack trace.
const { config, workload, images } = configFromCommandLine(
  'load',
  loadConfigSpec,
  (source) => {
    const config = loadLoadConfig(source)
    return {
      config,
      workload: flagFile('workload', () => shapeWorkload(readWorkload(config.workload), config.scale, config.duration)),
      images: flagFile('images', () => loadImages(config.images ?? defaultImagesDir())),
    }
  },
  loadSummary,
)

const out = config.out ?? `out/load-${new Date().toISOString().replace(/[:.]/g, '-')}`
const total = workload.reduce((a, b) => a + b, 0)
console.error(
  `replaying ${basename(config.workload)} (${workload.length} s, ${total} requests, ${config.arrival}) against ${config.target} ` +
    `with ${images.length} images; Ctrl-C stops and still writes the report`,
)

// First Ctrl-C: stop scheduling, let requests in flight finish, write the report. Second: leave at once.
const stop = new AbortController()
process.on('SIGINT', () => {
  if (stop.signal.aborted) process.exit(130)
  stop.abort()
})

const progress = createProgress(workload.length, config.progress)
const result = await runLoad({
  target: config.target,
  workload,
  arrival: config.arrival,
  seed: config.seed,
  images,
  timeoutMs: config.timeoutMs,
  sendDeadlineHeader: config.sendDeadline,
  concurrencyCap: config.concurrencyCap,
  ...(config.model && { model: config.model }),
  signal: stop.signal,
  onTick: ({ records, elapsedS }) => progress.update(records, elapsedS),
})
progress.stop()

const summary = writeReport(
  out,
  {
    target: config.target,
    workload: config.workload,
    scale: config.scale,
    arrival: config.arrival,
    seed: config.seed,
    timeoutMs: config.timeoutMs,
    sloMs: config.sloMs,
    seconds: workload.length,
  },
  result,
)
const latency = summary.latency_ms
console.log(
  `${result.interrupted ? 'interrupted: ' : ''}${summary.sent} sent, ${summary.answered} answered, ${summary.dropped} without answer; ` +
    `p50 ${latency?.p50.toFixed(1) ?? '–'} ms, p99 ${latency?.p99.toFixed(1) ?? '–'} ms; ` +
    `${(summary.slo_attainment * 100).toFixed(2)} % within ${config.sloMs} ms` +
    (summary.degraded.answers > 0
      ? ` (${summary.degraded.answers} degraded answers, ${(summary.degraded.share * 100).toFixed(2)} %)`
      : '') +
    (summary.accuracy
      ? `; top-1 ${(summary.accuracy.top1 * 100).toFixed(1)} %` +
        (summary.accuracy.top5 === null ? '' : `, top-5 ${(summary.accuracy.top5 * 100).toFixed(1)} %`)
      : '') +
    `\nreport: ${out}/report.html`,
)
