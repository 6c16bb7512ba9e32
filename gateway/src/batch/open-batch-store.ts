import type { FastifyBaseLogger } from 'fastify'
import { BatchStore } from './batch-store.ts'

/**
 * The batch store in `dataDir`, or undefined when it cannot be opened there (a read-only root filesystem with no
 * volume, a directory owned by someone else): the gateway then serves predictions with batch jobs disabled, and says
 * so in one log line naming DATA_DIR, rather than dying over a feature the deployment may not use.
 */
export function openBatchStore(dataDir: string, log: FastifyBaseLogger): BatchStore | undefined {
  try {
    return new BatchStore(dataDir)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    // No `err` field: pino would print the stack, and this is a configuration fact, not a crash.
    log.warn(
      { data_dir: dataDir, reason },
      `batch jobs disabled: cannot keep them in DATA_DIR ${dataDir} (${reason}); set DATA_DIR to a writable directory (a volume) to enable them`,
    )
    return undefined
  }
}
