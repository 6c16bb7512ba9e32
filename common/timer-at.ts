/** A pending `timerAt`: `cancel` stops it, whichever of its timers is the current one. */
export interface TimerAt {
  cancel(): void
}

/**
 * Calls `fn` once `clock()` has reached `at`. Node times a timer in whole milliseconds of the event loop's own
 * clock, so a plain setTimeout can fire up to a millisecond before its delay has passed by performance.now(), and
 * further off by Date.now() (a wall-clock step): this one looks at `clock` when it fires and waits out the rest.
 * `unref`: it does not keep the process alive.
 */
export function timerAt(at: number, clock: () => number, fn: () => void, options: { unref?: boolean } = {}): TimerAt {
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    timer = setTimeout(
      () => {
        if (clock() < at) return arm()
        timer = undefined
        fn()
      },
      Math.max(1, Math.ceil(at - clock())),
    )
    if (options.unref) timer.unref()
  }
  arm()
  return { cancel: () => clearTimeout(timer) }
}
