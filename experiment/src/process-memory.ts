import { readFileSync } from 'node:fs'

/** A process's resident memory now (VmRSS), MB; 0 once it has exited. */
export function residentMb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  } catch {
    return 0 // exited meanwhile
  }
}
