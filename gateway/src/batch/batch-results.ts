import { sameLabel } from '../../../common/image-labels.ts'
import { percentileOfSorted } from '../../../common/percentile.ts'

/** What one image of a batch job came to: a prediction, or the error it ended with. */
export type ItemResult = {
  image: string
  /** The label its file name carries, when it carries one. */
  truth: string | undefined
} & (
  | {
      ok: true
      label: string
      top5: string[]
      /** Replica round trip, ms: what the model costs, without the wait in the gateway's low-priority lane. */
      latencyMs: number
      /** Time in the gateway queue, ms (behind interactive requests). */
      queueMs: number
    }
  | { ok: false; errorCode: string }
)

export interface Percentiles {
  p50: number
  p95: number
  p99: number
}

/** A finished batch job's figures (the shape `GET /batch/:id` answers with, and the gate reads). */
export interface BatchResults {
  /** Images with an outcome: predictions plus errors. */
  images: number
  /** Predictions whose image has a label in its file name: what the accuracies are over. */
  evaluated: number
  /** Predictions for images whose file name carries no label. */
  unlabelled: number
  /** Share of `evaluated` whose best class is the label (matched by name); null when nothing was evaluated. */
  top1_accuracy: number | null
  /** Share of `evaluated` with the label among the five best classes. */
  top5_accuracy: number | null
  /** Replica round trip per image (nearest-rank percentiles), ms; null without predictions. */
  latency_ms: Percentiles | null
  /** Wait in the gateway's low-priority lane per image, ms. */
  gateway_queue_ms: Percentiles | null
  /** Images with an outcome per second of running time (time the gateway was down is not counted). */
  images_per_second: number
  running_seconds: number
  errors: { count: number; by_code: Record<string, number> }
}

/** Pure: the figures of a set of per-image outcomes, in any order, over `runningSeconds` of running time. */
export function aggregateBatchResults(items: readonly ItemResult[], runningSeconds: number): BatchResults {
  let evaluated = 0
  let unlabelled = 0
  let top1 = 0
  let top5 = 0
  const latencies: number[] = []
  const waits: number[] = []
  const byCode: Record<string, number> = {}
  for (const item of items) {
    if (!item.ok) {
      byCode[item.errorCode] = (byCode[item.errorCode] ?? 0) + 1
      continue
    }
    latencies.push(item.latencyMs)
    waits.push(item.queueMs)
    const truth = item.truth
    if (truth === undefined) {
      unlabelled++
      continue
    }
    evaluated++
    const best = sameLabel(item.label, truth)
    if (best) top1++
    // The best class is among the five best even in an answer that lists fewer.
    if (best || item.top5.some((label) => sameLabel(label, truth))) top5++
  }
  const errors = items.length - latencies.length
  return {
    images: items.length,
    evaluated,
    unlabelled,
    top1_accuracy: evaluated > 0 ? top1 / evaluated : null,
    top5_accuracy: evaluated > 0 ? top5 / evaluated : null,
    latency_ms: percentiles(latencies),
    gateway_queue_ms: percentiles(waits),
    images_per_second: runningSeconds > 0 ? items.length / runningSeconds : 0,
    running_seconds: runningSeconds,
    errors: { count: errors, by_code: byCode },
  }
}

function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  const at = (p: number) => Math.round(percentileOfSorted(sorted, p) * 100) / 100
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) }
}
