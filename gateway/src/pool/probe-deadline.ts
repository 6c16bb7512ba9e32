/**
 * A probe's time limit that a stalled event loop cannot turn into a miss. A timer that comes due while the loop is
 * busy (reading uploads, a long garbage collection) runs in the timers phase of the next turn, before that turn
 * polls the sockets — where the replica's answer, sent in time, may already be waiting. So the verdict is taken one
 * step later, from setImmediate (after the poll phase): an answer that arrived in time is read first and wins, and a
 * gateway that was busy does not mark its replicas unready for it.
 */
export function probeDeadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  let verdict: NodeJS.Immediate | undefined
  const timer = setTimeout(() => {
    verdict = setImmediate(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')))
  }, ms)
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      clearImmediate(verdict)
    },
  }
}
