import type { FastifyBaseLogger } from 'fastify'
import type { Dispatcher } from './dispatcher.ts'

/**
 * Lets the queue drain and the attempts in flight finish, for up to `timeoutMs`; whatever is still queued then is
 * answered 503 shutting_down rather than left to its client's timeout.
 */
export async function drainForShutdown(
  dispatcher: Dispatcher,
  timeoutMs: number,
  logger: FastifyBaseLogger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([dispatcher.drained(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
  clearTimeout(timer)
  const left = dispatcher.failQueued('shutting_down', 'the gateway shut down before this request was sent')
  if (left > 0) logger.warn({ requests: left }, 'answered 503 to requests still queued at shutdown')
}
