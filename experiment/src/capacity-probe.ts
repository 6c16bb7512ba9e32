import { join } from 'node:path'
import { postImage } from '../../common/http/call.ts'
import { untilOk } from '../../common/http/until-ok.ts'
import { spawnService } from '../../common/service-process.ts'
import type { LoadImage } from '../../loadtester/src/images.ts'
import { fitServiceTime, type ServiceTimeModel } from '../../simulator/src/service-time.ts'
import type { CpuModel } from '../../simulator/src/simulation.ts'
import type { BootBoost } from './boot-boost.ts'
import { LocalCluster } from './local-cluster.ts'

/** What the simulator needs to predict a real run, measured on this machine before any policy runs. */
export interface Calibration {
  measuredAt: string
  cores: number
  /** One replica alone at its CPU limit, through the gateway: how long it holds a request. */
  serviceTime: ServiceTimeModel
  /** Mean service time with k replicas busy at once over the mean with one, k = 1…max. */
  contention: number[]
  /** Process start to ready, ms, each boot while the replicas before it were up. */
  bootMs: number[]
  cpu: CpuModel
}

const WARM_UP = 20
const MEASURED = 40

/**
 * Boots replicas one after another (their boot times and CPU), then drives k = 1…max replicas with k clients in a
 * closed loop through a gateway (20 warm-up and 40 measured requests each): the service time at the CPU limit, how
 * it stretches when several replicas compete for the machine, and what a busy and an idle pod use.
 */
export async function calibrate(options: {
  cores: number
  /** New pods' start-up CPU boost, as in the runs: the boot times measured here are the simulator's. */
  bootBoost: BootBoost
  maxReplicas: number
  images: readonly LoadImage[]
  dir: string
  log: (message: string) => void
}): Promise<Calibration> {
  const cluster = new LocalCluster({
    cores: options.cores,
    bootBoost: options.bootBoost,
    provisioningMs: 0,
    replicasFile: join(options.dir, 'replicas.txt'),
    replicaArgs: ['--log-level', 'warn', '--intra-op-threads', '1'],
    drainDelayMs: 0,
  })
  const gateway = await spawnService('gateway', {
    // One request per replica at a time, as the simulator this calibrates models it (slotsPerReplica 1).
    args: [
      ...['--discovery', 'static', '--replicas-file', join(options.dir, 'replicas.txt'), '--autoscaler', 'none'],
      ...['--replica-slots', '1'],
    ],
  })
  try {
    const bootMs: number[] = []
    const bootCores: number[] = []
    for (let n = 1; n <= options.maxReplicas; n++) {
      cluster.scaleTo(n)
      await cluster.untilReady(n)
      const pod = cluster.records().at(-1)!
      bootMs.push(pod.readyAt! - pod.startedAt!)
      bootCores.push(pod.cpuSeconds / ((pod.readyAt! - pod.startedAt!) / 1000))
    }
    await untilOk(`${gateway.url}/readyz`, 'the gateway', 60_000)
    let image = 0
    const next = () => options.images[image++ % options.images.length]!.bytes
    const totalCpu = () => cluster.pods().reduce((sum, p) => sum + p.cpuSeconds, 0)
    // Idle: every pod up, nothing to do, for 3 s (the timer is the measurement, not a synchronisation).
    const idleFrom = totalCpu()
    const idleStarted = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const pods = options.maxReplicas
    const idleCores = (totalCpu() - idleFrom) / pods / ((performance.now() - idleStarted) / 1000)
    const means: number[] = []
    let single: number[] = []
    let busyCores = 0
    for (let k = 1; k <= options.maxReplicas; k++) {
      let busyMs = 0
      const client = async (samples: number[]) => {
        for (let i = 0; i < WARM_UP + MEASURED; i++) {
          const answer = await postImage(`${gateway.url}/predict`, next())
          if (answer.status !== 200) throw new Error(`calibration request failed: ${answer.status}`)
          busyMs += answer.body.timing_ms.upstream
          if (i >= WARM_UP) samples.push(answer.body.timing_ms.upstream)
        }
      }
      const cpuBefore = totalCpu()
      const started = performance.now()
      const perClient = Array.from({ length: k }, () => [] as number[])
      await Promise.all(perClient.map(client))
      const seconds = (performance.now() - started) / 1000
      const samples = perClient.flat()
      means.push(samples.reduce((a, b) => a + b, 0) / samples.length)
      if (k === 1) {
        single = samples
        // The routing spreads one client over every pod: what they used beyond idling, per second of serving.
        const busySeconds = busyMs / 1000
        busyCores = (totalCpu() - cpuBefore - idleCores * (pods * seconds - busySeconds)) / busySeconds
      }
      options.log(`calibration: ${k} busy, mean service ${means.at(-1)!.toFixed(0)} ms`)
    }
    return {
      measuredAt: new Date().toISOString(),
      cores: options.cores,
      serviceTime: fitServiceTime(single, `one replica at ${options.cores} cores through the gateway (calibration)`),
      contention: means.map((m) => Math.round((m / means[0]!) * 1000) / 1000),
      bootMs: bootMs.map(Math.round),
      cpu: {
        limitCores: options.cores,
        idleCores: Math.round(idleCores * 1000) / 1000,
        busyCores: Math.round(Math.min(options.cores, busyCores) * 1000) / 1000,
        bootCores:
          Math.round(Math.min(options.cores, bootCores.reduce((a, b) => a + b, 0) / bootCores.length) * 1000) / 1000,
      },
    }
  } finally {
    await cluster.close()
    gateway.child.kill('SIGTERM')
    await gateway.exited
  }
}
