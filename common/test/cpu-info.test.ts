import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cpuInfo, cpuSummary, describeCpu, int8Flags, parseCpuInfo, simdFlags } from '../measure/cpu-info.ts'

const X86 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu vme sse4_2 avx avx2 fma avx512f avx512_vnni amx_int8 amx_tile

processor\t: 1
model name\t: Something Else
flags\t\t: fpu
`

const ARM = `processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes asimddp sve
CPU part\t: 0xd40
`

test('x86: the first processor’s model name and flags', () => {
  const info = parseCpuInfo(X86)
  assert.equal(info.model, 'AMD EPYC 9R14 96-Core Processor')
  assert.deepEqual(info.flags, [
    'fpu',
    'vme',
    'sse4_2',
    'avx',
    'avx2',
    'fma',
    'avx512f',
    'avx512_vnni',
    'amx_int8',
    'amx_tile',
  ])
  assert.deepEqual(simdFlags(info.flags), [
    'sse4_2',
    'avx',
    'avx2',
    'fma',
    'avx512f',
    'avx512_vnni',
    'amx_int8',
    'amx_tile',
  ])
})

test('the int8 summary names each VNNI/AMX flag yes or no', () => {
  const info = parseCpuInfo(X86)
  assert.deepEqual(int8Flags(info.flags), {
    avx2: true,
    avx512f: true,
    avx512_vnni: true,
    avx_vnni: false,
    amx_tile: true,
    amx_int8: true,
  })
  assert.equal(
    cpuSummary(info, 2),
    'AMD EPYC 9R14 96-Core Processor (2 cores; avx2 yes, avx512f yes, avx512_vnni yes, avx_vnni no, amx_tile yes, amx_int8 yes)',
  )
  assert.equal(
    describeCpu(info, 2)[0],
    `CPU: ${cpuSummary(info, 2)}; SIMD: sse4_2 avx avx2 fma avx512f avx512_vnni amx_int8 amx_tile`,
  )
  assert.match(cpuSummary(parseCpuInfo(ARM), 4), /^0xd40 \(4 cores; avx2 no, .*amx_int8 no\)$/)
})

test('Arm: Features and CPU part stand in for flags and model name', () => {
  const info = parseCpuInfo(ARM)
  assert.equal(info.model, '0xd40')
  assert.deepEqual(simdFlags(info.flags), ['asimd', 'asimddp', 'sve'])
})

test('an empty text: unknown model, no flags, and the description says so', () => {
  const info = parseCpuInfo('')
  assert.deepEqual(info, { model: 'unknown', flags: [] })
  assert.match(describeCpu(info).join('\n'), /flags unknown\); SIMD: none listed[\s\S]*CPU flags: unknown/)
})

test('this machine: a model name, and both lines printed', () => {
  const lines = describeCpu(cpuInfo())
  assert.equal(lines.length, 2)
  assert.match(lines[0]!, /^CPU: \S/)
})
