import { Gauge, type Registry } from 'prom-client'
import type { QueueLimits } from './job-queue.ts'

/** The gateway queue's fill on the gateway's registry, and its count bound (alerts compare the size to it). */
export function registerQueueMetrics(
  registry: Registry,
  queue: { readonly size: number; readonly bytes: number; readonly limits: QueueLimits },
): void {
  const registers = [registry]
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read())
      },
    })
  gauge('gateway_queue_size', 'Requests waiting in the gateway queue', () => queue.size)
  gauge(
    'gateway_queue_limit',
    'Requests the gateway queue holds before shedding (QUEUE_MAX)',
    () => queue.limits.maxCount,
  )
  gauge('gateway_queue_bytes', 'Request bytes held by the gateway queue', () => queue.bytes)
}
