import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

/** The CPU's model name and flags, from /proc/cpuinfo (what every benchmark prints beside its numbers). */
export function cpuDescription(): { model: string; flags: string } {
  let info = ''
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8')
  } catch {
    // Not Linux: the model from Node, no flags.
  }
  return {
    model: /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU',
    flags: /^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? 'unknown',
  }
}
