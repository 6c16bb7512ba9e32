import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

/** The instruction-set extensions that decide int8 speed: VNNI (dot products of bytes) and AMX (tile matrix units). */
const INT8_FLAGS = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_tile', 'amx_int8'] as const

/**
 * The CPU model and which of INT8_FLAGS it has (from /proc/cpuinfo; none on other systems), for every benchmark's
 * output: int8 speed-ups differ several-fold between machines with and without VNNI/AMX.
 */
export function cpuDescription(): { model: string; flags: Record<string, boolean>; line: string } {
  let info = ''
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8')
  } catch {
    // Not Linux: the model from os.cpus(), flags unknown.
  }
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU'
  const present = new Set((/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/))
  const flags = Object.fromEntries(INT8_FLAGS.map((flag) => [flag, present.has(flag)]))
  const listed = INT8_FLAGS.map((flag) => `${flag} ${present.has(flag) ? 'yes' : 'no'}`).join(', ')
  return { model, flags, line: `${model} (${cpus().length} cores; ${info ? listed : 'flags unknown'})` }
}
