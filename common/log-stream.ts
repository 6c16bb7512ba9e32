import { writeSync } from 'node:fs'
import pino from 'pino'

/** Where a service's log lines go (pino writes each line with `write`). */
export interface LogStream {
  write(text: string): void
  /** Writes whatever waits, now. */
  flushSync(): void
}

export interface BatchedStdoutOptions {
  /** A line waits at most this long before it is written. */
  flushAfterMs?: number
  /** Lines waiting are written at once when they reach about this many bytes (counted in characters: JSON is ASCII). */
  batchBytes?: number
  /** File descriptor to write to; stdout by default (tests use a file). */
  fd?: number
}

/**
 * Standard output for JSON log lines, written in batches. One write system call per line costs a busy gateway
 * about a tenth of its CPU per request (a line per request into a pipe); here lines wait up to `flushAfterMs` (or
 * until `batchBytes` wait) and go out in one write. Every write is synchronous, so no write is ever half done in the
 * background, and what waits is written when the process exits — through `process.exit` (the services' shutdown and
 * fatal-error paths) or the event loop running out. Only a process killed outright (SIGKILL, a crash in native code)
 * loses its last `flushAfterMs` of lines. Once stdout is gone (EPIPE: the reader exited) lines are dropped: there is
 * nowhere left to write, and a process must still be able to exit. (sonic-boom's flushSync retries every error for
 * ever, which kept a replica whose gateway had died from exiting.)
 */
export function batchedStdout(options: BatchedStdoutOptions = {}): LogStream {
  const flushAfterMs = options.flushAfterMs ?? 10
  const batchBytes = options.batchBytes ?? 8192
  const fd = options.fd ?? 1
  let pending: string[] = []
  let pendingBytes = 0
  let gone = false
  let timer: NodeJS.Timeout | undefined
  const flushSync = () => {
    clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    pendingBytes = 0
    if (gone) return
    try {
      writeAllSync(fd, Buffer.from(text, 'utf8'))
    } catch {
      gone = true
    }
  }
  process.once('exit', flushSync)
  return {
    write: (text) => {
      if (gone) return
      pending.push(text)
      pendingBytes += text.length
      if (pendingBytes >= batchBytes) flushSync()
      else timer ??= setTimeout(flushSync, flushAfterMs).unref()
    },
    flushSync,
  }
}

/** A stdout that is a non-blocking pipe answers EAGAIN while its reader catches up: wait for it, up to this long. */
const FULL_PIPE_PATIENCE_MS = 10_000
const FULL_PIPE_WAIT_MS = 5
const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** Writes all of `bytes` (a pipe may take part of it); throws on EPIPE and the like, or a reader stuck too long. */
function writeAllSync(fd: number, bytes: Buffer): void {
  let offset = 0
  let waitedMs = 0
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if ((code !== 'EAGAIN' && code !== 'EBUSY') || waitedMs >= FULL_PIPE_PATIENCE_MS) throw error
      Atomics.wait(sleeper, 0, 0, FULL_PIPE_WAIT_MS)
      waitedMs += FULL_PIPE_WAIT_MS
    }
  }
}

/** Standard output written line by line, synchronously (for people at a terminal: each line shows at once). */
export function directStdout(): LogStream {
  const sonic = pino.destination({ dest: 1, sync: true })
  return { write: (text) => sonic.write(text), flushSync: () => sonic.flushSync() }
}
