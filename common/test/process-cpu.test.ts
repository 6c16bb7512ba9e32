import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { childPids, coresBetween, machineCpuSeconds, processCpuSeconds, sampleCpu } from '../measure/process-cpu.ts'

test('bench:e2e reads CPU per process from /proc: a child is found, its CPU grows while it works, a gone pid is undefined', async () => {
  // The child burns CPU until it has used 0.3 s of it by its own account, then reports and exits.
  const child = spawn(process.execPath, ['-e', 'while (process.cpuUsage().user < 300000) {} console.log("done")'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const pid = child.pid!
  assert.ok(childPids(process.pid).includes(pid))
  const before = sampleCpu(new Map([['child', pid]]))
  const machineBefore = machineCpuSeconds()
  const [line] = (await once(child.stdout!, 'data')) as [Buffer]
  assert.equal(line.toString().trim(), 'done')
  const after = sampleCpu(new Map([['child', pid]]))
  const used = after.processes.get('child')! - before.processes.get('child')!
  // /proc counts in 10 ms ticks: what the child measured itself, within a few ticks.
  assert.ok(used >= 0.2, `child used ${used} s`)
  const cores = coresBetween(before, after)
  assert.ok(cores.perProcess.child! > 0 && cores.ours === cores.perProcess.child)
  assert.ok(machineCpuSeconds().busy >= machineBefore.busy)
  await once(child, 'exit')
  assert.equal(processCpuSeconds(pid), undefined)
})
