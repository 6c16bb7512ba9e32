import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { freshDataDir } from './helpers.ts'

const serviceProcess = new URL('../../common/service-process.ts', import.meta.url).href

test('a gateway whose parent dies without stopping it (its IPC channel closes) drains and exits', async (t) => {
  // The parent starts a gateway as benchmarks and the experiment do, prints its pid, then is killed outright: no
  // signal reaches the gateway (same process group, but SIGKILL is the parent's alone), only the closed channel.
  const parent = `import { spawnService } from ${JSON.stringify(serviceProcess)}
const gateway = await spawnService('gateway', {
  args: ['--discovery', 'static', '--replicas', 'http://127.0.0.1:9', '--data-dir', ${JSON.stringify(freshDataDir())}],
})
console.log(gateway.child.pid)
process.kill(process.pid, 'SIGKILL')`
  const child = spawn(process.execPath, ['--input-type=module', '-e', parent], { stdio: ['ignore', 'pipe', 'inherit'] })
  let gatewayPid: number | undefined
  for await (const line of createInterface({ input: child.stdout })) gatewayPid ??= Number(line)
  assert.ok(gatewayPid !== undefined && Number.isInteger(gatewayPid), 'the parent reported the gateway it started')
  t.after(() => {
    if (existsSync(`/proc/${gatewayPid}`)) process.kill(gatewayPid!, 'SIGKILL')
  })
  await t.waitFor(() => assert.equal(existsSync(`/proc/${gatewayPid}`), false, 'the gateway is still running'), {
    interval: 100,
    timeout: 30_000,
  })
})
