import type { ReplicaSample } from '../../loadtester/src/request-record.ts'
import type { Summary } from '../../loadtester/src/stats.ts'
import type { ServiceTimeModel } from '../../simulator/src/service-time.ts'
import type { SimulationResult } from '../../simulator/src/simulation.ts'

export interface RunOutcome {
  policy: string
  real: Summary
  simulated: SimulationResult
  serviceTime: ServiceTimeModel
  /** Replica start-up as it happened in the run (seconds), used for its simulation. */
  startupS: number
}

/**
 * How long replicas took to become ready in a real run: for each rise of the desired count, the seconds until that
 * many were ready (mean), from the gateway's once-a-second GET /replicas samples. Undefined without a scale-up.
 */
export function observedStartupS(samples: readonly ReplicaSample[]): number | undefined {
  const delays: number[] = []
  for (let i = 1; i < samples.length; i++) {
    const { desired } = samples[i]!
    if (desired === undefined || desired <= (samples[i - 1]!.desired ?? desired)) continue
    const ready = samples.slice(i).find((s) => s.ready >= desired)
    if (ready) delays.push(ready.second - samples[i]!.second)
  }
  return delays.length === 0 ? undefined : delays.reduce((a, b) => a + b, 0) / delays.length
}

const pct = (share: number) => `${(share * 100).toFixed(2)} %`
const ratio = (simulated: number, real: number) =>
  real === 0 ? 'n/a' : `${((simulated / real - 1) * 100).toFixed(0)} %`

/** Real run beside the simulator's prediction of it: latency, share over the SLO, replica-seconds. */
export function crossCheckTable(outcomes: readonly RunOutcome[], sloMs: number): string {
  const lines = [
    `policy   measured service time, start-up       |  p50 real / sim        p99 real / sim (diff)       over ${sloMs} ms real / sim   replica-s real / sim (diff)`,
  ]
  for (const { policy, real, simulated, serviceTime, startupS } of outcomes) {
    const l = real.latency_ms
    const overSlo = 1 - real.slo_attainment
    const replicaSeconds = real.replicas?.replica_seconds ?? Number.NaN
    lines.push(
      `${policy.padEnd(8)} mean ${serviceTime.mean_ms} ms, p99 ${serviceTime.p99_ms} ms, ${startupS.toFixed(1)} s`.padEnd(
        45,
      ) +
        `|  ${l?.p50.toFixed(0)} / ${simulated.p50Ms.toFixed(0)} ms`.padEnd(24) +
        `${l?.p99.toFixed(0)} / ${simulated.p99Ms.toFixed(0)} ms (${ratio(simulated.p99Ms, l?.p99 ?? 0)})`.padEnd(28) +
        `${pct(overSlo)} / ${pct(simulated.slowShare)}`.padEnd(27) +
        `${replicaSeconds.toFixed(0)} / ${simulated.replicaSeconds.toFixed(0)} (${ratio(simulated.replicaSeconds, replicaSeconds)})`,
    )
  }
  return lines.join('\n')
}
