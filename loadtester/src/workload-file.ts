import { existsSync, readFileSync } from 'node:fs'
import { MissingDataError } from '../../common/config.ts'
import { parseWorkload } from '../k6/workload-format.js'

export { parseWorkload, stagesFromWorkload, WorkloadFormatError } from '../k6/workload-format.js'

/** Reads and parses a workload file; format errors name the file, line and column; a missing file is MissingDataError. */
export function readWorkload(path: string): number[] {
  if (!existsSync(path)) {
    throw new MissingDataError(
      `workload file ${path} not found (the files in workload/ come with the repository; npm run workloads regenerates them)`,
    )
  }
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
