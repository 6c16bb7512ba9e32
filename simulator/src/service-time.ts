import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MissingDataError } from '../../common/config.ts'
import { percentileOfSorted } from '../../common/percentile.ts'
import type { Random } from '../../common/random.ts'

/** The committed measurement (npm run bench:service-time): the default model of every simulator command. */
export const MEASURED_SERVICE_TIME = fileURLToPath(new URL('../data/service-time-replica.json', import.meta.url))

/**
 * A measured service-time distribution: 101 percentiles (0 %, 1 %, …, 100 %, nearest rank) of how long a request holds a replica
 * slot, fitted from samples of a real replica. The simulator draws from it by inverse transform.
 */
export interface ServiceTimeModel {
  source: string
  measured_at: string
  samples: number
  mean_ms: number
  p50_ms: number
  p99_ms: number
  quantiles_ms: number[]
  /** How long a replica took to become ready when measured (the simulator's default start-up delay). */
  startup_ms?: number
}

export function fitServiceTime(
  samplesMs: readonly number[],
  source: string,
  measuredAt = new Date(),
): ServiceTimeModel {
  if (samplesMs.length < 10) throw new Error(`need at least 10 service-time samples, got ${samplesMs.length}`)
  const sorted = Float64Array.from(samplesMs).sort()
  // The common percentile, so the model's p99 is the p99 the load tester and the experiment report.
  const at = (q: number) => percentileOfSorted(sorted, q)
  const round = (ms: number) => Math.round(ms * 100) / 100
  return {
    source,
    measured_at: measuredAt.toISOString(),
    samples: sorted.length,
    mean_ms: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    p50_ms: round(at(0.5)),
    p99_ms: round(at(0.99)),
    quantiles_ms: Array.from({ length: 101 }, (_, i) => round(at(i / 100))),
  }
}

/** Draws service times (ms) from the model: a uniform quantile, interpolated between the stored ones. */
export function serviceTimeSampler(model: ServiceTimeModel, random: Random): () => number {
  const q = model.quantiles_ms
  return () => {
    const position = random() * 100
    const low = Math.floor(position)
    return q[low]! + (q[Math.min(100, low + 1)]! - q[low]!) * (position - low)
  }
}

export function readServiceTime(path: string): ServiceTimeModel {
  if (!existsSync(path)) {
    throw new MissingDataError(
      `service-time model ${path} not found (simulator/data/service-time-replica.json comes with the repository; ` +
        'npm run bench:service-time measures a new one)',
    )
  }
  const model = JSON.parse(readFileSync(path, 'utf8')) as ServiceTimeModel
  if (!Array.isArray(model.quantiles_ms) || model.quantiles_ms.length !== 101) {
    throw new Error(`${path} is not a service-time model (101 quantiles_ms expected)`)
  }
  return model
}

export function writeServiceTime(path: string, model: ServiceTimeModel): void {
  writeFileSync(path, `${JSON.stringify(model, null, 2)}\n`)
}
