import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** cgroup v1: quotas in the cpu hierarchy, usage in cpuacct (mounted apart or together as cpu,cpuacct). */
const ROOT = '/sys/fs/cgroup'
const TOP = 'switchyard-experiment'
/** One subtree per experiment process: two checkouts (or a test beside a real run) never share a group. */
const PARENT = join(TOP, String(process.pid))
const hierarchy = (controller: 'cpu' | 'cpuacct') => {
  for (const name of [controller, 'cpu,cpuacct'])
    if (existsSync(join(ROOT, name, 'cgroup.procs'))) return join(ROOT, name)
  return undefined
}

/** Why CPU-limited groups cannot be made here, or undefined when they can (cgroup v1 and root). */
export function cgroupUnavailableReason(): string | undefined {
  const cpu = hierarchy('cpu')
  if (!cpu || !existsSync(join(cpu, 'cpu.cfs_quota_us')))
    return `no cgroup v1 cpu hierarchy with cpu.cfs_quota_us under ${ROOT}`
  if (!hierarchy('cpuacct')) return `no cgroup v1 cpuacct hierarchy under ${ROOT}`
  if (process.getuid?.() !== 0) return 'making cgroups needs root'
  // Mounted is not writable (a container may mount it read-only): make the parent group and set its quota to
  // "unlimited", which it already is, so a machine that cannot make groups says so here instead of mid-run.
  try {
    for (const base of new Set([cpu, hierarchy('cpuacct')!])) mkdirSync(join(base, PARENT), { recursive: true })
    writeFileSync(join(cpu, PARENT, 'cpu.cfs_quota_us'), '-1')
  } catch (error) {
    return `cgroups cannot be made under ${ROOT} (${(error as Error).message})`
  }
  return undefined
}

/**
 * A pod's CPU limit, as the kubelet sets it: a CFS quota of `cores` × the period on a group of its own, and the
 * group's cumulative usage and throttling (what cAdvisor reports to metrics-server).
 */
export class CpuLimitedGroup {
  readonly name: string
  readonly #cpu: string
  readonly #cpuacct: string
  readonly #periodUs: number

  constructor(name: string, cores: number) {
    const cpu = hierarchy('cpu')
    const cpuacct = hierarchy('cpuacct')
    if (!cpu || !cpuacct) throw new Error(cgroupUnavailableReason())
    this.name = name
    this.#cpu = join(cpu, PARENT, name)
    this.#cpuacct = join(cpuacct, PARENT, name)
    for (const dir of new Set([this.#cpu, this.#cpuacct])) mkdirSync(dir, { recursive: true })
    this.#periodUs = Number(readFileSync(join(this.#cpu, 'cpu.cfs_period_us'), 'utf8'))
    this.setCores(cores)
  }

  /** Changes the limit of a running group, as the kubelet does for an in-place resize: the processes stay. */
  setCores(cores: number): void {
    writeFileSync(join(this.#cpu, 'cpu.cfs_quota_us'), String(Math.round(cores * this.#periodUs)))
  }

  /** The limit in force, read back from the group (cores). */
  get cores(): number {
    return Number(readFileSync(join(this.#cpu, 'cpu.cfs_quota_us'), 'utf8')) / this.#periodUs
  }

  /** Moves a process, all its threads, into the group. */
  add(pid: number): void {
    for (const dir of new Set([this.#cpu, this.#cpuacct])) writeFileSync(join(dir, 'cgroup.procs'), String(pid))
  }

  /** CPU seconds used by the group's processes since it was made. */
  cpuSeconds(): number {
    return Number(readFileSync(join(this.#cpuacct, 'cpuacct.usage'), 'utf8')) / 1e9
  }

  /** Seconds the quota held the group back (cpu.stat throttled_time). */
  throttledSeconds(): number {
    const stat = readFileSync(join(this.#cpu, 'cpu.stat'), 'utf8')
    return Number(/^throttled_time (\d+)/m.exec(stat)?.[1] ?? 0) / 1e9
  }

  /** Removes the group; its processes must have exited. */
  remove(): void {
    for (const dir of new Set([this.#cpu, this.#cpuacct])) if (existsSync(dir)) rmdirSync(dir)
  }
}

/** Groups left by experiments that were killed (their process is gone): removed when empty, so none pile up. */
export function removeStaleGroups(): void {
  for (const controller of ['cpu', 'cpuacct'] as const) {
    const base = hierarchy(controller)
    if (!base || !existsSync(join(base, TOP))) continue
    for (const owner of readdirSync(join(base, TOP), { withFileTypes: true })) {
      if (!owner.isDirectory() || isAlive(Number(owner.name))) continue
      const parent = join(base, TOP, owner.name)
      for (const name of readdirSync(parent, { withFileTypes: true })) {
        const dir = join(parent, name.name)
        if (name.isDirectory()) removeIfEmpty(dir)
      }
      removeIfEmpty(parent)
    }
  }
}

/** A group still holding processes or child groups stays (until they exit, or the next clean-up). */
function removeIfEmpty(dir: string): void {
  const children = readdirSync(dir, { withFileTypes: true })
  if (children.some((entry) => entry.isDirectory())) return
  if (readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '') return
  rmdirSync(dir)
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
