import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100

/** CPU seconds a process has used so far (all its threads: utime + stime), or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

/** The machine's CPU seconds so far, busy and idle (iowait counted as idle), summed over every core. */
export function machineCpuSeconds(): { busy: number; idle: number } {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n')
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu!.trim().split(/\s+/).slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  return {
    busy: (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND,
    idle: (idle + iowait) / TICKS_PER_SECOND,
  }
}

/** The pids whose parent is `pid` (a gateway's local replicas). */
export function childPids(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) children.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return children
}

export interface CpuSample {
  at: number
  machine: { busy: number; idle: number }
  processes: Map<string, number | undefined>
}

/** Reads every named process's CPU and the machine's at one instant. */
export function sampleCpu(pids: ReadonlyMap<string, number>): CpuSample {
  const processes = new Map<string, number | undefined>()
  for (const [name, pid] of pids) processes.set(name, processCpuSeconds(pid))
  return { at: performance.now(), machine: machineCpuSeconds(), processes }
}

/** Cores used (CPU seconds per second) by each process between two samples, plus the machine's busy and idle. */
export function coresBetween(before: CpuSample, after: CpuSample) {
  const seconds = (after.at - before.at) / 1000
  const perProcess: Record<string, number> = {}
  for (const [name, end] of after.processes) {
    const start = before.processes.get(name)
    if (start !== undefined && end !== undefined) perProcess[name] = (end - start) / seconds
  }
  const busy = (after.machine.busy - before.machine.busy) / seconds
  const idle = (after.machine.idle - before.machine.idle) / seconds
  const ours = Object.values(perProcess).reduce((a, b) => a + b, 0)
  return { seconds, perProcess, ours, busy, idle, others: Math.max(0, busy - ours) }
}
