import ort from 'onnxruntime-node'
import pino from 'pino'
import { Pool } from 'undici'
import { parseModelSelector } from '../../common/http/model-selection.ts'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { processCpuSeconds } from '../../common/measure/process-cpu.ts'
import { spawnReplica } from '../../common/service-process.ts'
import { loadModelDefinitions, type ModelDefinition, type RegistryConfig } from '../src/model/registry.ts'
import { imageToTensor } from '../src/preprocess.ts'

export interface VersionFigures {
  selector: string
  precision: string
  /** Bare onnxruntime (1 thread, optimisation `all`), images per CPU-second of this process, best round. */
  inferencePerCpuSecond: Record<number, number>
  /** The replica over HTTP at saturation: answers per second and per CPU-second of the replica process. */
  replica: { perSecond: number; perCpuSecond: number }
}

const ROUNDS = 5

/**
 * `npm run bench:replica -- --compare NAME@V1,NAME@V2`: versions (e.g. fp32 and int8) side by side — the replica's
 * inference alone, images per CPU-second at batch 1 and 8, and the replica process over HTTP at saturation, answers
 * per CPU-second. Versions alternate round by round, so a neighbour's load on a shared machine falls on all of them.
 */
export async function compareVersions(
  selectors: readonly string[],
  registry: RegistryConfig,
  images: readonly Buffer[],
  say: (line: string) => void,
): Promise<VersionFigures[]> {
  const definitions = await loadModelDefinitions(registry, pino({ level: 'error' }))
  const chosen = selectors.map((selector) => {
    const { name, version } = parseModelSelector(selector)
    const found = definitions.find((d) => d.info.name === name && (version === undefined || d.info.version === version))
    if (!found) {
      const known = definitions.map((d) => `${d.info.name}@${d.info.version}`).join(', ')
      throw new Error(`${selector} is not served from ${registry.modelsDir ?? 'no models folder'}; served: ${known}`)
    }
    return found
  })
  const figures: VersionFigures[] = chosen.map((d) => ({
    selector: `${d.info.name}@${d.info.version}`,
    precision: d.precision,
    inferencePerCpuSecond: {},
    replica: { perSecond: 0, perCpuSecond: 0 },
  }))
  for (const batch of [1, 8]) {
    const sessions = await Promise.all(chosen.map((d) => bareSession(d, images, batch)))
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, session] of sessions.entries()) {
        const rate = await session.imagesPerCpuSecond()
        figures[i]!.inferencePerCpuSecond[batch] = Math.max(figures[i]!.inferencePerCpuSecond[batch] ?? 0, rate)
      }
    }
    for (const session of sessions) await session.release()
    for (const f of figures) {
      say(
        `  inference alone, batch ${batch}: ${f.selector} (${f.precision}) ${f.inferencePerCpuSecond[batch]!.toFixed(1)} img per CPU-s`,
      )
    }
  }
  const replica = await spawnReplica({
    args: [
      ...(registry.modelsDir ? ['--models-dir', registry.modelsDir] : ['--models-dir', 'none']),
      ...[
        '--model-cache-dir',
        registry.modelCacheDir,
        '--max-queue',
        '256',
        '--max-inflight',
        '256',
        '--log-level',
        'warn',
      ],
    ],
  })
  try {
    const bodies = await Promise.all(images.map((image) => imageUpload(image)))
    for (let round = 0; round < 2; round++) {
      for (const f of figures) {
        const measured = await saturationWithCpu(replica.url, replica.child.pid!, bodies, f.selector)
        f.replica.perSecond = Math.max(f.replica.perSecond, measured.perSecond)
        f.replica.perCpuSecond = Math.max(f.replica.perCpuSecond, measured.perCpuSecond)
      }
    }
  } finally {
    replica.child.kill('SIGTERM')
    await replica.exited
  }
  return figures
}

async function bareSession(definition: ModelDefinition, images: readonly Buffer[], batch: number) {
  const session = await ort.InferenceSession.create(definition.bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  })
  const spec = { ...definition.preprocess, maxInputPixels: 40_000_000 }
  const tensors: Float32Array[] = []
  for (const image of images.slice(0, batch)) tensors.push(await imageToTensor(image, spec))
  const item = tensors[0]!.length
  const data = new Float32Array(batch * item)
  for (const [i, t] of tensors.entries()) data.set(t, i * item)
  const size = definition.preprocess.inputSize
  const shape = definition.preprocess.layout === 'NCHW' ? [batch, 3, size, size] : [batch, size, size, 3]
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, shape) }
  await session.run(feeds)
  const runs = Math.max(2, Math.ceil(16 / batch))
  return {
    async imagesPerCpuSecond(): Promise<number> {
      const before = process.cpuUsage()
      for (let i = 0; i < runs; i++) await session.run(feeds)
      const used = process.cpuUsage(before)
      return (runs * batch) / ((used.user + used.system) / 1e6)
    },
    release: () => session.release(),
  }
}

/** A closed loop of 12 clients for 160 requests; the replica's CPU seconds over the same window. */
async function saturationWithCpu(
  url: string,
  pid: number,
  bodies: readonly { body: Buffer; contentType: string }[],
  selector: string,
): Promise<{ perSecond: number; perCpuSecond: number }> {
  const pool = new Pool(url, { connections: 12 })
  const path = `/predict?model=${encodeURIComponent(selector)}`
  const send = async (i: number) => {
    const { body, contentType } = bodies[i % bodies.length]!
    const response = await pool.request({ path, method: 'POST', body, headers: { 'content-type': contentType } })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`${selector}: HTTP ${response.statusCode} ${text.slice(0, 200)}`)
  }
  for (let i = 0; i < 12; i++) await send(i)
  const count = 160
  let next = 0
  const cpuBefore = processCpuSeconds(pid) ?? 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < count) await send(next++)
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const cpu = (processCpuSeconds(pid) ?? 0) - cpuBefore
  await pool.close()
  return { perSecond: count / seconds, perCpuSecond: count / cpu }
}
