import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'

export interface CpuInfo {
  /** `model name` of the first processor (what os.cpus() says where /proc/cpuinfo is missing). */
  model: string
  /** Its feature flags, in /proc/cpuinfo's order (empty where unknown). */
  flags: string[]
}

/** The flags that decide how fast inference and JPEG decoding run here: what a reader compares between machines. */
const SIMD_FLAGS = /^(sse4_2|avx|avx2|fma|f16c|avx512.*|amx.*|avx_vnni.*|sha_ni|neon|asimd.*|sve.*)$/

/**
 * The extensions that decide int8 speed, named yes or no in every benchmark's summary: VNNI (byte dot products,
 * AVX-512 or AVX) and AMX (tile matrix units). int8 speed-ups differ several-fold between machines with and without.
 */
export const INT8_FLAGS = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_tile', 'amx_int8'] as const
export type Int8Flag = (typeof INT8_FLAGS)[number]

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

/** Which of INT8_FLAGS `flags` has. */
export function int8Flags(flags: readonly string[]): Record<Int8Flag, boolean> {
  const present = new Set(flags)
  return Object.fromEntries(INT8_FLAGS.map((flag) => [flag, present.has(flag)])) as Record<Int8Flag, boolean>
}

/**
 * One line for a report's heading: the model, the cores this process may use, and each of INT8_FLAGS yes or no
 * (`flags unknown` without /proc/cpuinfo, rather than a row of false noes).
 */
export function cpuSummary(info: CpuInfo = cpuInfo(), cores: number = availableParallelism()): string {
  const has = int8Flags(info.flags)
  const listed = info.flags.length
    ? INT8_FLAGS.map((flag) => `${flag} ${has[flag] ? 'yes' : 'no'}`).join(', ')
    : 'flags unknown'
  return `${info.model} (${cores} cores; ${listed})`
}

/**
 * Lines every benchmark prints first, once: the CPU summary (model, cores, int8 flags yes/no), its SIMD flags (what
 * makes int8 or fp32 fast here), and all its flags, since these machines differ from one session to the next.
 */
export function describeCpu(info: CpuInfo = cpuInfo(), cores: number = availableParallelism()): string[] {
  const simd = simdFlags(info.flags)
  return [
    `CPU: ${cpuSummary(info, cores)}; SIMD: ${simd.length ? simd.join(' ') : 'none listed'}`,
    `CPU flags: ${info.flags.length ? info.flags.join(' ') : 'unknown (no /proc/cpuinfo)'}`,
  ]
}
