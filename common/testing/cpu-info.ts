import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

export interface CpuInfo {
  /** `model name` of the first processor (what os.cpus() says where /proc/cpuinfo is missing). */
  model: string
  /** Its feature flags, in /proc/cpuinfo's order (empty where unknown). */
  flags: string[]
}

/** The flags that decide how fast inference and JPEG decoding run here: what a reader compares between machines. */
const SIMD_FLAGS = /^(sse4_2|avx|avx2|fma|f16c|avx512.*|amx.*|avx_vnni.*|sha_ni|neon|asimd.*|sve.*)$/

/** Model name and flags of the first processor listed in a /proc/cpuinfo text (x86 `flags`, Arm `Features`). */
export function parseCpuInfo(text: string): CpuInfo {
  const first = text.split(/\n\s*\n/)[0] ?? ''
  const field = (name: string): string | undefined => {
    const line = first.split('\n').find((l) => l.slice(0, l.indexOf(':')).trim() === name)
    return line === undefined ? undefined : line.slice(line.indexOf(':') + 1).trim()
  }
  const model = field('model name') ?? field('Model') ?? field('CPU part') ?? 'unknown'
  const flags = (field('flags') ?? field('Features') ?? '').split(/\s+/).filter((flag) => flag !== '')
  return { model, flags }
}

/** This machine's CPU: /proc/cpuinfo where there is one, else os.cpus() (no flags). */
export function cpuInfo(): CpuInfo {
  try {
    return parseCpuInfo(readFileSync('/proc/cpuinfo', 'utf8'))
  } catch {
    return { model: cpus()[0]?.model ?? 'unknown', flags: [] }
  }
}

/** The flags among `flags` that matter for inference and decoding speed (SIMD, VNNI, AMX). */
export function simdFlags(flags: readonly string[]): string[] {
  return flags.filter((flag) => SIMD_FLAGS.test(flag))
}

/**
 * Lines every benchmark prints first: the CPU model, its SIMD flags (what makes int8 or fp32 fast here), and all
 * its flags, since these machines differ from one session to the next.
 */
export function describeCpu(info: CpuInfo = cpuInfo()): string[] {
  const simd = simdFlags(info.flags)
  return [
    `CPU: ${info.model}; SIMD: ${simd.length ? simd.join(' ') : 'none listed'}`,
    `CPU flags: ${info.flags.length ? info.flags.join(' ') : 'unknown (no /proc/cpuinfo)'}`,
  ]
}
