import { readFileSync } from 'node:fs'
import { parseWorkload } from '../k6/workload-format.js'

export { parseWorkload, stagesFromWorkload, WorkloadFormatError } from '../k6/workload-format.js'

/** Reads and parses a workload file; format errors name the file, line and column. */
export function readWorkload(path: string): number[] {
  const text = readFileSync(path, 'utf8')
  try {
    return parseWorkload(text)
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`)
  }
}

/** Applies --scale and --duration: multiplies every rate (rounding), keeps the first `duration` seconds. */
export function shapeWorkload(values: readonly number[], scale: number, durationS?: number): number[] {
  const kept = durationS === undefined ? values : values.slice(0, durationS)
  return kept.map((v) => Math.round(v * scale))
}
