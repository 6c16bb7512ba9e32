import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, setting } from '../../common/config.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface RequestRow {
  status: string
  /** When the answer came, ms from the start of the run. */
  answered: number
  latency: number
}

export interface LoadPhaseOptions {
  target: string
  /** Requests per second, constant over the phase. */
  rate: number
  seconds: number
  /** Requests in each second instead of `rate` every second (e.g. a fractional rate split between targets). */
  workload?: number[]
  /** Where the load tester writes its workload and report. */
  dir: string
  seed: number
  /** More load-tester flags, e.g. ['--model', 'darknet-tiny']. */
  flags?: string[]
  /** Called with the load tester's process as soon as it exists (e.g. to read its CPU time). */
  onSpawn?: (child: ChildProcess) => void
}

/**
 * One open-loop phase of a benchmark: the load tester as its own process (so its timers do not share an event loop
 * with what it measures) at a constant rate, and the rows of the requests.csv it wrote.
 */
export async function runLoadPhase(options: LoadPhaseOptions): Promise<RequestRow[]> {
  mkdirSync(options.dir, { recursive: true })
  const workload = join(options.dir, 'workload.txt')
  const counts = options.workload ?? Array.from({ length: options.seconds }, () => options.rate)
  writeFileSync(workload, `${counts.join('\n')}\n`)
  const flags = ['--target', options.target, '--workload', workload, '--out', options.dir]
  flags.push('--progress', 'false', '--seed', String(options.seed), ...(options.flags ?? []))
  const child = spawn(process.execPath, [join(ROOT, 'loadtester/src/main.ts'), ...flags], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  options.onSpawn?.(child)
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`the load tester exited with ${code}`)
  return readRequestsCsv(join(options.dir, 'requests.csv'))
}

export function readRequestsCsv(path: string): RequestRow[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n')
  const columns = header!.split(',')
  const at = (name: string) => columns.indexOf(name)
  const [status, answered, latency] = [at('status'), at('answered_ms'), at('latency_ms')]
  return lines.map((line) => {
    const cells = line.split(',')
    return {
      status: cells[status]!,
      answered: Number(cells[answered] || Number.NaN),
      latency: Number(cells[latency] || Number.NaN),
    }
  })
}

/** The settings every interleaved benchmark on a local stack has: rounds, phase length, replicas. */
export function roundSettings(roundsAre: string, defaults: { rounds: number; seconds: number }) {
  return {
    rounds: setting({
      env: 'BENCH_ROUNDS',
      flag: 'rounds',
      description: roundsAre,
      parse: parse.integer({ min: 1, max: 50 }),
      default: defaults.rounds,
    }),
    seconds: setting({
      env: 'BENCH_SECONDS',
      flag: 'seconds',
      description: 'Length of each phase',
      parse: parse.integer({ min: 5, max: 600 }),
      default: defaults.seconds,
    }),
    replicas: setting({
      env: 'BENCH_REPLICAS',
      flag: 'replicas',
      description: 'Local replicas behind the gateway',
      parse: parse.integer({ min: 1, max: 16 }),
      default: 2,
    }),
  }
}
