import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { testLogger } from '../../common/testing/silent-logger.ts'
import type { AutoscalerOptions } from '../src/autoscale/autoscaler.ts'
import { loadGatewayConfig } from '../src/config.ts'
import { type GatewayEdges, type RunningGateway, startGateway } from '../src/gateway.ts'
import type { Job } from '../src/queue/job.ts'
import { StubReplica, type StubReplicaOptions } from './stub-replica.ts'

/** A fresh, empty data directory: each test gateway keeps its batch jobs apart from every other's. */
export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-data-'))
}

/**
 * A real gateway on 127.0.0.1 and a free port, with fast health checks so tests do not wait a second per probe,
 * and a data directory of its own. `flags` as on the command line (they win over the defaults given here).
 */
export function startTestGateway(flags: string[], edges: GatewayEdges = {}): Promise<RunningGateway> {
  const defaults = ['--host', '127.0.0.1', '--port', '0', '--health-interval-ms', '50', '--health-timeout-ms', '1000']
  // The routing, admission and queue tests reason about a replica holding one request at a time (late binding at its
  // plainest); the default number of slots is chosen for throughput by bench:e2e, and a test wanting more says so.
  defaults.push('--replica-slots', '1')
  // A registry file nobody writes: the embedded default, whatever a developer keeps in the default one.
  const registry = [
    '--model-registry-file',
    join(tmpdir(), `switchyard-test-no-registry-${process.pid}`, 'models.json'),
  ]
  const dataDir = flags.includes('--data-dir') ? [] : ['--data-dir', freshDataDir()]
  const config = loadGatewayConfig({ env: {}, argv: [...defaults, ...registry, ...dataDir, ...flags] })
  return startGateway(config, testLogger('gateway') as FastifyBaseLogger, edges)
}

/**
 * A real gateway spawning `replicas` real replica processes (local discovery, no autoscaling), resolved once all of
 * them are routable: the fixture of every end-to-end test.
 */
export async function startGatewayWithLocalReplicas(replicas = 2): Promise<RunningGateway> {
  const gateway = await startTestGateway([
    ...['--discovery', 'local', '--local-replicas', String(replicas), '--autoscaler', 'none'],
  ])
  await routable(gateway, replicas)
  return gateway
}

/** A real gateway in front of replicas already running (static discovery, no autoscaling), once all are routable. */
export async function startGatewayOver(replicaUrls: string[], flags: string[] = []): Promise<RunningGateway> {
  const gateway = await startTestGateway([
    ...['--discovery', 'static', '--replicas', replicaUrls.join(','), '--autoscaler', 'none'],
    ...flags,
  ])
  await routable(gateway, replicaUrls.length)
  return gateway
}

/** Resolves once the gateway sees `count` routable replicas (health checks are event-driven: 'change'). */
export async function routable(gateway: RunningGateway, count: number): Promise<void> {
  while (gateway.pool.readyCount() !== count) {
    await once(gateway.pool, 'change')
  }
}

/** Resolves once the gateway has accepted `count` more jobs into its queue, with those jobs (to await their outcome). */
export function jobsAccepted(gateway: RunningGateway, count: number): Promise<Job[]> {
  return new Promise((resolve) => {
    const jobs: Job[] = []
    const onQueued = (job: Job) => {
      if (jobs.push(job) < count) return
      gateway.dispatcher.off('queued', onQueued)
      resolve(jobs)
    }
    gateway.dispatcher.on('queued', onQueued)
  })
}

/**
 * Stub replicas and gateways over them (static discovery), each closed by `closeAll` in reverse order of start:
 * the fixture of the tests about the gateway's own routing. `gatewayFor` resolves once every stub is routable.
 */
export function stubPoolFixture() {
  const cleanup: (() => Promise<void>)[] = []
  return {
    async stubs(...options: StubReplicaOptions[]): Promise<StubReplica[]> {
      const list = await Promise.all(options.map((o) => StubReplica.start(o)))
      for (const stub of list) cleanup.push(() => stub.close())
      return list
    },
    async gatewayFor(replicas: StubReplica[], flags: string[] = []): Promise<RunningGateway> {
      const urls = replicas.map((r) => r.url).join(',')
      const gateway = await startTestGateway(['--discovery', 'static', '--replicas', urls, ...flags])
      cleanup.push(() => gateway.shutdown(1000))
      await routable(gateway, replicas.length)
      return gateway
    },
    async closeAll(): Promise<void> {
      for (const fn of cleanup.reverse()) await fn()
      cleanup.length = 0
    },
  }
}

/**
 * Autoscaler settings for tests that feed it arrivals and time by hand: no start-up, no trend or noise terms, one
 * slot per replica, a 0.1 s service time until measured. Tests change what they are about with a spread.
 */
export const testAutoscalerOptions: AutoscalerOptions = {
  targetUtilization: 0.7,
  drainTimeS: 0.5,
  startupS: 0,
  minReplicas: 1,
  maxReplicas: 10,
  panicThreshold: 2,
  shortWindowS: 6,
  burstNoiseZ: 0,
  trendGain: 0,
  trendWindowS: 10,
  longWindowS: 60,
  scaleDownStabilizationS: 30,
  scaleDownStartups: 0,
  slotsPerReplica: 1,
  initialServiceTimeS: 0.1,
}
