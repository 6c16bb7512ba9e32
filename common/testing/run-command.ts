import { spawn } from 'node:child_process'
import { once } from 'node:events'

export interface CommandResult {
  /** The exit code; null when the process was killed (e.g. by the timeout: then `signal` says by what). */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs a TypeScript entry point the way `npm run` does (`node <file> ...args`) and collects what it
 * printed. After `timeoutMs` its whole process group is killed (SIGKILL): a command that starts working instead of
 * exiting — servers, benchmarks and what they spawned — cannot hang or outlive the test.
 */
export async function runEntryPoint(
  file: string,
  args: readonly string[],
  { cwd, timeoutMs = 120_000 }: { cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const child = spawn(process.execPath, [file, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so the timeout reaches its children too.
    detached: true,
  })
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }, timeoutMs)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  try {
    // 'close', not 'exit': everything printed has been read, and nothing it started still holds its output open.
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
    return { code, signal, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}
