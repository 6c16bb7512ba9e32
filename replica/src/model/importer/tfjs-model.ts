import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { type KerasLayer, parseKerasLayer, type RawKerasLayer, type WeightLookup } from './keras-layers.ts'
import { readTfjsWeights, type WeightsManifestGroup, type WeightTensor } from './tfjs-weights.ts'

/** A TF.js layers model read from disk: its layers in execution order (the first an InputLayer), weights attached. */
export interface TfjsLayersModel {
  modelJsonPath: string
  modelJsonSha256: string
  kerasVersion: string | undefined
  layers: KerasLayer[]
  /** Every weight in the manifest, BatchNorm statistics included: what Keras' `count_params()` reports. */
  kerasParameterCount: number
}

interface ModelJson {
  modelTopology?: Record<string, unknown>
  weightsManifest?: WeightsManifestGroup[]
}

export async function readTfjsLayersModel(modelJsonPath: string): Promise<TfjsLayersModel> {
  const path = resolve(modelJsonPath)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`)
  }
  let json: ModelJson
  try {
    json = JSON.parse(bytes.toString('utf8')) as ModelJson
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`)
  }
  if (typeof json.modelTopology !== 'object' || json.modelTopology === null || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${path} is not a TF.js layers model (no modelTopology or weightsManifest)`)
  }
  const rawLayers = sequentialLayers(json.modelTopology)
  const weights = await readTfjsWeights(json.weightsManifest, dirname(path))
  const lookup = weightLookup(weights)
  const layers = rawLayers.map((raw) => parseKerasLayer(raw, lookup.find))
  const unused = [...weights.keys()].filter((name) => !lookup.used.has(name))
  if (unused.length > 0) throw new Error(`weights not used by any layer: ${unused.join(', ')}`)
  const kerasVersion = json.modelTopology.keras_version
  return {
    modelJsonPath: path,
    modelJsonSha256: createHash('sha256').update(bytes).digest('hex'),
    kerasVersion: typeof kerasVersion === 'string' ? kerasVersion : undefined,
    layers,
    kerasParameterCount: [...weights.values()].reduce((sum, weight) => sum + weight.data.length, 0),
  }
}

/**
 * The raw layers of a model that is a single chain, in order, starting with its InputLayer. Accepts a functional
 * `Model` whose every layer takes the previous layer's output, and a `Sequential`; refuses anything with branches.
 */
export function sequentialLayers(modelTopology: Record<string, unknown>): RawKerasLayer[] {
  // Keras' own export nests the model under `model_config`; TF.js `model.save()` writes it at the top.
  const modelConfig = (modelTopology.model_config ?? modelTopology) as { class_name?: unknown; config?: unknown }
  switch (modelConfig.class_name) {
    case 'Model':
    case 'Functional':
      return functionalChain(modelConfig.config as FunctionalConfig)
    case 'Sequential':
      return sequentialChain(modelConfig.config)
    default:
      throw new Error(`model class ${JSON.stringify(modelConfig.class_name)} is not supported (Model or Sequential)`)
  }
}

interface FunctionalConfig {
  layers: RawKerasLayer[]
  input_layers: unknown[]
  output_layers: unknown[]
}

function functionalChain(config: FunctionalConfig): RawKerasLayer[] {
  const layers = config.layers
  const first = layers[0]
  if (first?.class_name !== 'InputLayer') throw new Error('the first layer of the model is not an InputLayer')
  if (config.input_layers.length !== 1) throw new Error(`the model has ${config.input_layers.length} inputs, not 1`)
  layers.forEach((layer, i) => {
    if (i === 0) return
    const previous = layers[i - 1]!.name
    const inputs = inboundLayerNames(layer)
    if (inputs.length !== 1 || inputs[0] !== previous) {
      throw new Error(
        `layer '${layer.name}' (${layer.class_name}) takes its input from ${inputs.map((n) => `'${n}'`).join(' and ') || 'nothing'}, ` +
          `not from the layer before it ('${previous}'): only sequential chains are supported, not branches`,
      )
    }
  })
  const outputs = config.output_layers.map((output) => (Array.isArray(output) ? output[0] : undefined))
  const last = layers[layers.length - 1]!
  if (outputs.length !== 1 || outputs[0] !== last.name) {
    throw new Error(`the model's output is ${JSON.stringify(outputs)}, not its last layer '${last.name}'`)
  }
  return layers
}

/** Keras 2 writes `inbound_nodes: [[[layerName, nodeIndex, tensorIndex, kwargs], …]]`, one list per call. */
function inboundLayerNames(layer: RawKerasLayer): string[] {
  const calls = layer.inbound_nodes
  if (!Array.isArray(calls)) return []
  if (calls.length > 1) {
    throw new Error(
      `layer '${layer.name}' (${layer.class_name}) is called ${calls.length} times: shared layers are not supported`,
    )
  }
  const tensors: unknown = calls[0] ?? []
  if (!Array.isArray(tensors)) {
    throw new Error(`layer '${layer.name}' (${layer.class_name}): inbound_nodes are not in the Keras 2 format`)
  }
  return tensors.map((tensor) => (Array.isArray(tensor) && typeof tensor[0] === 'string' ? tensor[0] : '?'))
}

function sequentialChain(config: unknown): RawKerasLayer[] {
  // Keras 2.1 writes a Sequential's config as the bare list of layers, later versions as { name, layers }.
  const listed = (Array.isArray(config) ? config : (config as { layers?: unknown }).layers) as
    | Omit<RawKerasLayer, 'name'>[]
    | undefined
  // A Sequential's layers carry their name only inside `config`.
  const layers = listed?.map((layer) => ({ ...layer, name: String(layer.config.name) }))
  const first = layers?.[0]
  if (!layers || !first) throw new Error('the Sequential model has no layers')
  if (first.class_name === 'InputLayer') return layers
  // Without an InputLayer, the first layer carries the input shape.
  const batchInputShape = first.config.batch_input_shape
  if (batchInputShape === undefined) throw new Error(`the first layer '${first.name}' has no batch_input_shape`)
  const input: RawKerasLayer = {
    name: `${first.name}_input`,
    class_name: 'InputLayer',
    config: { batch_input_shape: batchInputShape },
  }
  return [input, ...layers]
}

/** Resolves `<layer>/<parameter>`, also under a name scope (`model_1/conv2d_1/kernel`), and records what was used. */
function weightLookup(weights: Map<string, WeightTensor>): { find: WeightLookup; used: Set<string> } {
  const used = new Set<string>()
  const find: WeightLookup = (layerName, parameter) => {
    const exact = `${layerName}/${parameter}`
    const candidates = weights.has(exact) ? [exact] : [...weights.keys()].filter((name) => name.endsWith(`/${exact}`))
    if (candidates.length !== 1) {
      throw new Error(
        candidates.length === 0
          ? `weight ${exact} is missing from the weights manifest`
          : `weight ${exact} is ambiguous: ${candidates.join(', ')}`,
      )
    }
    const name = candidates[0]!
    used.add(name)
    return weights.get(name)!
  }
  return { find, used }
}
