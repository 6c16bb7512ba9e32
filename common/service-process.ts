import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ENTRY_POINTS = {
  replica: fileURLToPath(new URL('../replica/src/main.ts', import.meta.url)),
  gateway: fileURLToPath(new URL('../gateway/src/main.ts', import.meta.url)),
}

export interface ServiceProcess {
  child: ChildProcess
  /** e.g. http://127.0.0.1:40123, reported by the service over IPC once it is serving. */
  url: string
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>
  /** What the service said about its start-up with its `ready` message (a replica's phases), if anything. */
  startup?: unknown
  /** The service's performance.timeOrigin (epoch ms), if it said: places its own clock on ours. */
  timeOrigin?: number
}

interface ReadyMessage {
  type?: string
  url?: string
  startup?: unknown
  time_origin?: number
}

export interface SpawnServiceOptions {
  /** Command-line flags, e.g. ['--max-batch-size', '4']. */
  args?: string[]
  env?: Record<string, string | undefined>
  /** Every log line the service prints (JSON); lines are consumed either way so the pipe never fills. */
  onLog?: (line: string) => void
  /** Its own process group, so a signal to ours (Ctrl-C in a terminal) does not reach it. */
  ownProcessGroup?: boolean
  /** Give up if the service has not reported ready by then. */
  startTimeoutMs?: number
  /** Called with the child as soon as it exists, before it is ready (e.g. to put it in a cgroup). */
  onSpawn?: (child: ChildProcess) => void
  /** Another checkout's entry point for the same service (a benchmark's baseline); default: this checkout's. */
  entry?: string
  /** Flags for Node itself, before the entry point (e.g. a benchmark's `--cpu-prof`). */
  nodeArgs?: string[]
  /**
   * Node's compile cache folder for the service (NODE_COMPILE_CACHE): set before it starts, even its entry module
   * is loaded from the cache (the replica enables the cache itself, but only once its entry module has run).
   */
  compileCache?: string
}

/**
 * Starts a Switchyard service as its own process on 127.0.0.1 and a free port, and resolves once it reports
 * `{type: 'ready', url}` over the IPC channel (a replica after its warm-up, the gateway once it listens).
 * Used by the gateway's `local` discovery, tests and benchmarks.
 */
export async function spawnService(
  service: keyof typeof ENTRY_POINTS,
  options: SpawnServiceOptions = {},
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.entry ?? ENTRY_POINTS[service],
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...(options.args ?? []),
    ],
    {
      env:
        options.compileCache === undefined
          ? options.env
          : // biome-ignore lint/style/noProcessEnv: the child inherits our environment, plus Node's own cache switch
            { ...(options.env ?? process.env), NODE_COMPILE_CACHE: options.compileCache },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: options.ownProcessGroup ?? false,
    },
  )
  options.onSpawn?.(child)
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  const stderr: string[] = []
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk)
    if (stderr.length > 50) stderr.shift()
  })
  createInterface({ input: child.stdout! }).on('line', (line) => options.onLog?.(line))
  const ready = new Promise<ReadyMessage & { url: string }>((resolve, reject) => {
    child.on('message', (message: ReadyMessage) => {
      if (message.type === 'ready' && typeof message.url === 'string') resolve({ ...message, url: message.url })
    })
    exited.then((code) => reject(new Error(`${service} exited (${code}) before it was ready: ${stderr.join('')}`)))
  })
  const timeoutMs = options.startTimeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${service} not ready after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    const message = await Promise.race([ready, timeout])
    return {
      child,
      url: message.url,
      exited,
      ...(message.startup !== undefined && { startup: message.startup }),
      ...(typeof message.time_origin === 'number' && { timeOrigin: message.time_origin }),
    }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/** A replica process (see spawnService). */
export function spawnReplica(options: SpawnServiceOptions = {}): Promise<ServiceProcess> {
  return spawnService('replica', options)
}
