import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const REPLICA_MAIN = fileURLToPath(new URL('../replica/src/main.ts', import.meta.url))

export interface ReplicaProcess {
  child: ChildProcess
  /** e.g. http://127.0.0.1:40123, known once the replica logged that it is ready. */
  url: string
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>
}

export interface SpawnReplicaOptions {
  /** Command-line flags for the replica, e.g. ['--max-batch-size', '4']. */
  args?: string[]
  env?: Record<string, string | undefined>
  /** Every log line the replica prints (JSON); lines are consumed either way so the pipe never fills. */
  onLog?: (line: string) => void
  /** Give up if the replica is not ready by then. */
  startTimeoutMs?: number
}

/**
 * Starts `replica/src/main.ts` as its own process on 127.0.0.1 and a free port, and resolves once it has warmed
 * up (it reports its URL over the IPC channel). Used by the gateway's `local` discovery, tests and benchmarks.
 */
export async function spawnReplica(options: SpawnReplicaOptions = {}): Promise<ReplicaProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', REPLICA_MAIN, '--host', '127.0.0.1', '--port', '0', ...(options.args ?? [])],
    { env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  )
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  const stderr: string[] = []
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk)
    if (stderr.length > 50) stderr.shift()
  })
  createInterface({ input: child.stdout! }).on('line', (line) => options.onLog?.(line))
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'ready' && typeof message.url === 'string') resolve(message.url)
    })
    exited.then((code) => reject(new Error(`replica exited (${code}) before it was ready: ${stderr.join('')}`)))
  })
  const timeoutMs = options.startTimeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`replica not ready after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    const url = await Promise.race([ready, timeout])
    return { child, url, exited }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    clearTimeout(timer)
  }
}
