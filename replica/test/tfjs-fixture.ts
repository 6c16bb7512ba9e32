import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRandom } from '../../common/random.ts'

/** A layer for a synthetic model: Keras class and config, and weight shapes by parameter name, in Keras order. */
export interface FixtureLayer {
  class_name: string
  config: Record<string, unknown>
  weights?: [parameter: string, shape: number[]][]
}

/**
 * Writes a TF.js layers model (Keras 2 functional topology, or Sequential) with seeded random weights into `dir`,
 * weights split over two groups the way the TF.js converter shards them. Returns model.json's path.
 */
export async function writeTfjsFixture(
  dir: string,
  options: {
    inputShape: [number, number, number]
    layers: FixtureLayer[]
    seed: number
    style?: 'functional' | 'sequential'
    labels?: string[]
  },
): Promise<string> {
  const random = createRandom(options.seed)
  const named = options.layers.map((layer, i) => ({ ...layer, name: `${layer.class_name.toLowerCase()}_${i + 1}` }))
  const weights: { name: string; shape: number[]; data: Float32Array }[] = []
  for (const layer of named) {
    for (const [parameter, shape] of layer.weights ?? []) {
      const size = shape.reduce((a, b) => a * b, 1)
      // Variances must be positive; everything else is centred on 0 with the spread of a trained layer.
      const data = Float32Array.from({ length: size }, () =>
        parameter === 'moving_variance'
          ? 0.2 + random()
          : parameter === 'gamma'
            ? 0.5 + random()
            : (random() - 0.5) * 0.6,
      )
      weights.push({ name: `${layer.name}/${parameter}`, shape, data })
    }
  }
  const inputLayer = {
    name: 'input_1',
    class_name: 'InputLayer',
    config: { batch_input_shape: [null, ...options.inputShape], dtype: 'float32', name: 'input_1' },
    inbound_nodes: [],
  }
  const modelConfig =
    options.style === 'sequential'
      ? {
          class_name: 'Sequential',
          config: named.map((layer, i) => ({
            class_name: layer.class_name,
            config: {
              ...layer.config,
              name: layer.name,
              ...(i === 0 && { batch_input_shape: [null, ...options.inputShape] }),
            },
          })),
        }
      : {
          class_name: 'Model',
          config: {
            name: 'model_1',
            layers: [
              inputLayer,
              ...named.map((layer, i) => ({
                name: layer.name,
                class_name: layer.class_name,
                config: { ...layer.config, name: layer.name },
                inbound_nodes: [[[i === 0 ? 'input_1' : named[i - 1]!.name, 0, 0, {}]]],
              })),
            ],
            input_layers: [['input_1', 0, 0]],
            output_layers: [[named[named.length - 1]!.name, 0, 0]],
          },
        }
  const half = Math.ceil(weights.length / 2)
  const groups = [weights.slice(0, half), weights.slice(half)].filter((group) => group.length > 0)
  await mkdir(dir, { recursive: true })
  const weightsManifest = []
  for (const [i, group] of groups.entries()) {
    const path = `group${i + 1}-shard1of1`
    await writeFile(join(dir, path), Buffer.concat(group.map((w) => Buffer.from(w.data.buffer))))
    weightsManifest.push({
      paths: [path],
      weights: group.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })),
    })
  }
  const modelJson = join(dir, 'model.json')
  await writeFile(
    modelJson,
    JSON.stringify({
      modelTopology: { keras_version: '2.1.6', backend: 'tensorflow', model_config: modelConfig },
      weightsManifest,
    }),
  )
  const sized = named.filter((layer) => layer.config.units !== undefined || layer.config.filters !== undefined)
  const last = sized[sized.length - 1]!
  const classes = (last.config.units ?? last.config.filters) as number
  await writeFile(
    join(dir, 'labels.json'),
    JSON.stringify(options.labels ?? Array.from({ length: classes }, (_, i) => `class ${i}`)),
  )
  return modelJson
}

/** Conv2D (+ optional bias) with Keras' kernel layout. */
export function conv(
  inChannels: number,
  filters: number,
  kernel: number,
  extra: Record<string, unknown> = {},
): FixtureLayer {
  const useBias = extra.use_bias !== false
  return {
    class_name: 'Conv2D',
    config: {
      filters,
      kernel_size: [kernel, kernel],
      strides: [1, 1],
      padding: 'same',
      activation: 'linear',
      use_bias: useBias,
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      ...extra,
    },
    weights: [
      ['kernel', [kernel, kernel, inChannels, filters]],
      ...(useBias ? [['bias', [filters]] as [string, number[]]] : []),
    ],
  }
}

export function batchNorm(channels: number): FixtureLayer {
  return {
    class_name: 'BatchNormalization',
    config: { axis: -1, epsilon: 0.001, center: true, scale: true },
    weights: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((p) => [p, [channels]] as [string, number[]]),
  }
}

export function leakyRelu(alpha = 0.1): FixtureLayer {
  return { class_name: 'LeakyReLU', config: { alpha } }
}

export function maxPool(size: number, stride: number, padding: 'same' | 'valid' = 'same'): FixtureLayer {
  return {
    class_name: 'MaxPooling2D',
    config: { pool_size: [size, size], strides: [stride, stride], padding, data_format: 'channels_last' },
  }
}
