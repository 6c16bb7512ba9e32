import { readFile } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'

export interface WeightTensor {
  shape: number[]
  data: Float32Array
}

/** One entry of model.json's `weightsManifest`: shard files, concatenated, hold these weights back to back. */
export interface WeightsManifestGroup {
  paths: string[]
  weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[]
}

/** Reads every weight the manifest lists, from shard files relative to `directory` (model.json's folder). */
export async function readTfjsWeights(
  manifest: readonly WeightsManifestGroup[],
  directory: string,
): Promise<Map<string, WeightTensor>> {
  const weights = new Map<string, WeightTensor>()
  for (const [groupIndex, group] of manifest.entries()) {
    const shards = await Promise.all(group.paths.map((path) => readShard(directory, path)))
    const bytes = Buffer.concat(shards)
    let offset = 0
    for (const entry of group.weights) {
      if (entry.dtype !== 'float32') throw new Error(`weight ${entry.name}: dtype ${entry.dtype} is not supported`)
      if (entry.quantization !== undefined) throw new Error(`weight ${entry.name}: quantized weights are not supported`)
      const length = entry.shape.reduce((a, b) => a * b, 1)
      const end = offset + length * Float32Array.BYTES_PER_ELEMENT
      if (end > bytes.length) {
        throw new Error(`weight group ${groupIndex + 1} (${group.paths.join(', ')}) ends before weight ${entry.name}`)
      }
      const data = new Float32Array(length)
      // Read explicitly little-endian rather than aliasing the buffer: shards are LE and need not be 4-byte aligned.
      for (let i = 0; i < length; i++) data[i] = bytes.readFloatLE(offset + i * Float32Array.BYTES_PER_ELEMENT)
      const name = canonicalWeightName(entry.name)
      if (weights.has(name)) throw new Error(`weight ${name} is listed twice in the weights manifest`)
      weights.set(name, { shape: [...entry.shape], data })
      offset = end
    }
    if (offset !== bytes.length) {
      throw new Error(
        `weight group ${groupIndex + 1} (${group.paths.join(', ')}) has ${bytes.length} bytes, the manifest lists ${offset}`,
      )
    }
  }
  return weights
}

/** TF variable names sometimes carry an output index (`conv2d_1/kernel:0`); the manifest's own names do not. */
export function canonicalWeightName(name: string): string {
  return name.replace(/:0$/, '')
}

async function readShard(directory: string, path: string): Promise<Buffer> {
  const file = resolve(directory, path)
  const fromDirectory = relative(directory, file)
  // A model.json is data from elsewhere: it must not make the importer read files outside its own folder.
  if (fromDirectory.startsWith('..') || isAbsolute(fromDirectory)) {
    throw new Error(`weight shard ${path} is outside the model's folder ${directory}`)
  }
  try {
    return await readFile(file)
  } catch (error) {
    throw new Error(`cannot read weight shard ${file}: ${(error as Error).message}`)
  }
}
