import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { testLogger } from '../../common/testing/silent-logger.ts'
import { loadReplicaConfig } from '../src/config.ts'
import { type RunningReplica, type StartReplicaOptions, startReplica } from '../src/replica.ts'

/** A real replica (real model, real HTTP server) on 127.0.0.1 and a free port. Flags as on the command line. */
export async function startTestReplica(
  flags: string[] = [],
  options: StartReplicaOptions = {},
): Promise<RunningReplica> {
  const config = loadReplicaConfig({
    env: {},
    argv: ['--host', '127.0.0.1', '--port', '0', '--replica-id', 'test-replica', ...flags],
  })
  return startReplica(config, testLogger('replica'), options)
}

/** A replica as its own process (`replica/src/main.ts`), once it has logged 'replica ready'; its stdout is drained. */
export async function spawnTestReplica(flags: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
  const child = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0', ...flags], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })
  for await (const line of lines) {
    const entry = JSON.parse(line)
    if (entry.msg === 'replica ready') {
      // Keep reading, so a chatty replica never blocks on a full pipe.
      lines.on('line', () => {})
      return { child, url: entry.url }
    }
  }
  throw new Error('the replica process exited before it was ready')
}
