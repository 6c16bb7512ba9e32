import { mean, type PolicyOutcome } from './tables.ts'

/**
 * Cost both ways, per policy (mean over repeats): core-seconds requested (a waiting standby at its small quota) and
 * core-seconds that must be free on the node for every resize to succeed (every pod at its full size), with the
 * standby-seconds behind the difference and memory (replica RSS × time) beside. Policies without standbys show the
 * same figure twice.
 */
export function costTable(outcomes: readonly PolicyOutcome[]): string {
  const lines = [
    `${'policy'.padEnd(11)} ${'requested core-s'.padStart(17)} ${'node-free core-s'.padStart(17)} ${'standby-s'.padStart(10)} ${'memory GB·s'.padStart(12)}`,
  ]
  for (const { policy, real } of outcomes) {
    if (real.length === 0) continue
    lines.push(
      `${policy.padEnd(11)} ${mean(real.map((r) => r.requestedCoreSeconds))
        .toFixed(0)
        .padStart(17)} ${mean(real.map((r) => r.nodeCoreSeconds))
        .toFixed(0)
        .padStart(17)} ${mean(real.map((r) => r.standbySeconds))
        .toFixed(0)
        .padStart(10)} ${(mean(real.map((r) => r.memoryMbSeconds)) / 1024).toFixed(1).padStart(12)}`,
    )
  }
  return lines.join('\n')
}
