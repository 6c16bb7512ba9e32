import { Gauge, type Registry } from 'prom-client'
import type { AutoscaleStatus } from './autoscaler.ts'

/** The autoscaler's signal on the gateway's registry (what KEDA and dashboards read), from its latest status. */
export function registerAutoscaleMetrics(registry: Registry, autoscaler: { readonly status: AutoscaleStatus }): void {
  const registers = [registry]
  const gauge = (name: string, help: string, read: (status: AutoscaleStatus) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(autoscaler.status))
      },
    })
  gauge(
    'gateway_desired_replicas',
    'Replicas the autoscaling signal asks for (what KEDA or the actuator scales to)',
    (status) => status.desired,
  )
  gauge(
    'gateway_desired_standbys',
    'Warm standbys the autoscaling signal asks for beside the desired replicas (booted, at a small CPU request, not routed to)',
    (status) => status.standbys,
  )
  gauge(
    'gateway_autoscaler_leader',
    'Whether this gateway writes the replica count (1 while it holds the Lease; always 1 without an election)',
    (status) => (status.leader ? 1 : 0),
  )
  new Gauge({
    name: 'gateway_arrival_rate',
    help: 'Prediction requests arriving per second, over the short and long autoscaling windows',
    labelNames: ['window'] as const,
    registers,
    collect() {
      const { inputs } = autoscaler.status
      this.set({ window: 'short' }, inputs.arrivalRateShort)
      this.set({ window: 'long' }, inputs.arrivalRateLong)
    },
  })
  gauge(
    'gateway_service_time_seconds',
    'Mean time a request holds a replica slot (EWMA)',
    (status) => status.inputs.serviceTimeS,
  )
}
