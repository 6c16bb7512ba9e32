import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { HELD_OUT_FAMILIES } from '../src/training-workloads.ts'
import { readWorkload, stagesFromWorkload } from '../src/workload-file.ts'
import { allWorkloads, canonicalWorkload, formatWorkload, LOCAL_STACK_CAPACITY_RPS } from '../src/workload-shapes.ts'

const workloadPath = (file: string) => fileURLToPath(new URL(`../../workload/${file}`, import.meta.url))
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const mean = (values: number[]) => sum(values) / values.length

test('the committed workload files are exactly what the seeded generator writes', () => {
  for (const shape of allWorkloads()) {
    assert.equal(
      readFileSync(workloadPath(shape.file), 'utf8'),
      formatWorkload(shape),
      `${shape.file} is stale: npm run workloads`,
    )
    assert.deepEqual(readWorkload(workloadPath(shape.file)), shape.values)
  }
  assert.deepEqual(canonicalWorkload(), canonicalWorkload(), 'deterministic')
})

test('workload.txt has the seed experiment shape', () => {
  const v = readWorkload(workloadPath('workload.txt'))
  assert.equal(v.length, 630)
  assert.ok(Math.abs(sum(v) - 9900) <= 200, `total ${sum(v)}`)
  assert.equal(Math.min(...v), 4)
  assert.equal(Math.max(...v), 44)
  assert.ok(Math.abs(mean(v.slice(0, 254)) - 7) < 0.5, 'about 7 req/s until second 253')
  assert.ok(v[254]! >= 17 && v[254]! <= 24, `a step to about 20 at 254, got ${v[254]}`)
  const plateau = v.slice(264, 417)
  assert.ok(Math.min(...plateau) >= 28 && Math.max(...plateau) <= 44, 'a plateau of 28-44')
  assert.ok(mean(v.slice(480, 488)) < 11, 'down to about 7 by 484')
  assert.ok(Math.abs(mean(v.slice(490)) - 8) < 0.5, 'about 8 to the end')
})

test('the short workloads are short, and overload is twice the local stack', () => {
  const long = (file: string) => ['workload.txt', 'experiment-small.txt'].includes(file) || file.startsWith('judge-')
  for (const shape of allWorkloads().filter((s) => !long(s.file))) {
    assert.ok(shape.values.length <= 120, `${shape.file} runs ${shape.values.length} s`)
  }
  const overload = allWorkloads().find((s) => s.file === 'overload.txt')!
  assert.equal(mean(overload.values), 2 * LOCAL_STACK_CAPACITY_RPS)
})

test('the judging workloads are the held-out families (never tuned on), 600 s each, as committed', () => {
  const judging = allWorkloads().filter((s) => s.file.startsWith('judge-'))
  assert.deepEqual(
    judging.map((s) => s.file),
    HELD_OUT_FAMILIES.map((family) => `judge-${family}.txt`),
  )
  for (const shape of judging) {
    assert.equal(shape.values.length, 600)
    assert.deepEqual(readWorkload(workloadPath(shape.file)), shape.values, `${shape.file} is as generated`)
  }
})

test('experiment-small.txt is workload.txt compressed 3× in time and scaled by 0.7', () => {
  const canonical = readWorkload(workloadPath('workload.txt'))
  const small = readWorkload(workloadPath('experiment-small.txt'))
  assert.equal(small.length, 210)
  assert.ok(Math.abs(sum(small) - (0.7 * sum(canonical)) / 3) < 30)
  assert.ok(Math.max(...small) <= 32)
  assert.ok(mean(small.slice(90, 135)) > 3 * mean(small.slice(0, 80)), 'the plateau is still there, at the same place')
})

test('the k6 script parses, and the stages it builds equal the workload file', () => {
  const script = fileURLToPath(new URL('../k6/workload.js', import.meta.url))
  execFileSync(process.execPath, ['--check', script])
  const values = readWorkload(workloadPath('workload.txt'))
  const stages = stagesFromWorkload(values)
  assert.equal(stages.length, values.length)
  assert.deepEqual(
    stages.map((s) => s.target),
    values,
  )
  assert.ok(stages.every((s) => s.duration === '1s'))
  assert.match(readFileSync(script, 'utf8'), /ramping-arrival-rate/)
})
