import { constants } from 'node:os'

/** What a shutdown signal means, given when the first one came. */
export type SignalVerdict = 'drain' | 'duplicate' | 'force'

/**
 * Ctrl-C in a terminal signals the whole foreground process group, and `npm run` relays the signal to its child as
 * well, so one keypress reaches a service twice within milliseconds. The first signal drains; a copy within
 * `duplicateWindowMs` is the same keypress; a later one is the operator insisting, and forces the exit.
 */
export function judgeSignal(firstAt: number | undefined, now: number, duplicateWindowMs: number): SignalVerdict {
  if (firstAt === undefined) return 'drain'
  return now - firstAt < duplicateWindowMs ? 'duplicate' : 'force'
}

interface Log {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  fatal(object: object, message: string): void
}

export interface GracefulExitOptions {
  /** Stop admitting, finish what was accepted, release resources. */
  drain: () => Promise<void>
  /** Called just before a forced exit (a second signal, a drain past its time): e.g. stop child processes. */
  beforeForcedExit?: () => void
  /** A drain that takes longer is cut short. */
  timeoutMs: number
  duplicateWindowMs?: number
  log: Log
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

/**
 * Installs the process's exit path: SIGINT and SIGTERM drain and exit 0; a second signal (not a duplicate), or a
 * drain past `timeoutMs`, exits at once with 128 + the signal number; an uncaught error drains and exits 1.
 */
export function exitGracefully(options: GracefulExitOptions): void {
  const windowMs = options.duplicateWindowMs ?? 500
  let firstAt: number | undefined
  let draining: Promise<void> | undefined

  const force = (code: number, why: string) => {
    options.log.warn({ code }, why)
    options.beforeForcedExit?.()
    process.exit(code)
  }
  const drainThenExit = (code: number) => {
    draining ??= (async () => {
      const timer = setTimeout(() => force(code || 1, 'drain took too long; exiting'), options.timeoutMs)
      timer.unref()
      await options.drain()
      clearTimeout(timer)
      options.log.info({ code }, 'drained; exiting')
      process.exit(code)
    })()
  }

  for (const signal of SIGNALS) {
    process.on(signal, () => {
      const now = performance.now()
      const verdict = judgeSignal(firstAt, now, windowMs)
      if (verdict === 'duplicate') return
      if (verdict === 'force')
        return force(128 + constants.signals[signal], `second ${signal}: exiting without draining`)
      firstAt = now
      options.log.info({ signal }, 'draining before exit (signal again to exit at once)')
      drainThenExit(0)
    })
  }
  const onError = (error: unknown) => {
    if (draining) return force(1, 'a second fatal error while draining; exiting')
    options.log.fatal({ err: error }, 'fatal error, draining before exit')
    drainThenExit(1)
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
}
