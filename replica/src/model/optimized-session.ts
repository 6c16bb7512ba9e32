import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { threadId } from 'node:worker_threads'
import ort from 'onnxruntime-node'

export type OptimizedCache = 'hit' | 'miss' | 'off'

/**
 * The graph optimisation level of the saved model. 'all' adds layout transformations (NCHWc) tied to this CPU's
 * instruction set, so the cache key names the CPU; the file is only ever loaded on the machine that wrote it.
 */
const SAVED_LEVEL = 'all'

/**
 * Where the optimised form of a model is kept: one file per model content, ONNX Runtime version, optimisation
 * level and CPU, so an upgrade or another machine's cache directory is never mistaken for ours.
 */
export function optimizedModelPath(cacheDir: string, modelSha256: string): string {
  const cpu = `${process.arch}-${(cpus()[0]?.model ?? 'cpu').replace(/[^\w.-]+/g, '_')}`
  return join(
    cacheDir,
    'optimized',
    `${modelSha256.slice(0, 24)}-ort${ort.env.versions.common}-${SAVED_LEVEL}-${cpu}.onnx`,
  )
}

/**
 * An InferenceSession for `model`. With `optimizedPath`, ONNX Runtime's graph optimisation (most of session
 * creation for a convolutional network) runs once: its result is saved there, and later starts load it with
 * optimisation off. A cached file that will not load is optimised and written again.
 */
export async function createOptimizedSession(
  model: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  optimizedPath: string | undefined,
): Promise<{ session: ort.InferenceSession; cache: OptimizedCache }> {
  if (optimizedPath === undefined) {
    return {
      session: await ort.InferenceSession.create(model, { ...options, graphOptimizationLevel: 'all' }),
      cache: 'off',
    }
  }
  if (existsSync(optimizedPath)) {
    try {
      const session = await ort.InferenceSession.create(optimizedPath, {
        ...options,
        graphOptimizationLevel: 'disabled',
      })
      return { session, cache: 'hit' }
    } catch {
      removeQuietly(optimizedPath)
    }
  }
  if (!writableDir(dirname(optimizedPath))) {
    // A read-only cache (a container's image layer): optimise in memory, as without a cache.
    return {
      session: await ort.InferenceSession.create(model, { ...options, graphOptimizationLevel: 'all' }),
      cache: 'off',
    }
  }
  // Written beside and renamed into place, so two replicas starting at once never load half a file.
  const partial = `${optimizedPath}.${process.pid}-${threadId}.partial`
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(model, {
      ...options,
      graphOptimizationLevel: SAVED_LEVEL,
      optimizedModelFilePath: partial,
    })
  } catch {
    // Saving failed after all (a full disk): optimise in memory, as without a cache.
    removeQuietly(partial)
    return {
      session: await ort.InferenceSession.create(model, { ...options, graphOptimizationLevel: 'all' }),
      cache: 'off',
    }
  }
  try {
    renameSync(partial, optimizedPath)
  } catch {
    removeQuietly(partial)
  }
  return { session, cache: 'miss' }
}

function writableDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true })
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true })
  } catch {
    // Read-only: the next start tries again, harmlessly.
  }
}
