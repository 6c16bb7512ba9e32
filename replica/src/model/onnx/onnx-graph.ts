import { endianness } from 'node:os'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const root = protobuf.loadSync(fileURLToPath(new URL('./onnx-subset.proto', import.meta.url)))
const ModelProto = root.lookupType('onnx.ModelProto')
const StringStringEntryProto = root.lookupType('onnx.StringStringEntryProto')

const TENSOR_FLOAT = 1
const TENSOR_INT64 = 7
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const
const METADATA_PROPS_FIELD = 14

/** A node attribute with its ONNX type spelled out, because 1 and 1.0 are different attributes to ONNX. */
export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'string'; value: string }

export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  ints: (...value: number[]): Attribute => ({ type: 'ints', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  floats: (...value: number[]): Attribute => ({ type: 'floats', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
}

export type Dimension = number | string

export interface EncodeOptions {
  producerName: string
  producerVersion: string
  opsetVersion: number
  docString?: string
  metadata?: Record<string, string>
}

/**
 * Builds an ONNX graph node by node. Names of intermediate values are generated, so callers chain
 * `node()` results the way they would write the forward pass.
 */
export class OnnxGraphBuilder {
  readonly #name: string
  readonly #nodes: object[] = []
  readonly #initializers: object[] = []
  readonly #inputs: object[] = []
  readonly #outputs: object[] = []
  #parameterCount = 0
  #valueCounter = 0

  constructor(name: string) {
    if (endianness() !== 'LE') throw new Error('ONNX raw tensor data is little-endian; this host is big-endian')
    this.#name = name
  }

  get parameterCount(): number {
    return this.#parameterCount
  }

  input(name: string, dims: readonly Dimension[]): string {
    this.#inputs.push(valueInfo(name, dims))
    return name
  }

  output(name: string, dims: readonly Dimension[]): void {
    this.#outputs.push(valueInfo(name, dims))
  }

  /** Adds a float32 weight tensor and returns its name. */
  initializer(name: string, dims: readonly number[], data: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1)
    if (data.length !== expected) throw new Error(`initializer ${name}: ${data.length} values for shape [${dims}]`)
    this.#parameterCount += data.length
    this.#initializers.push({
      name,
      dims: [...dims],
      dataType: TENSOR_FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    })
    return name
  }

  /** Adds an int64 constant tensor (shapes, axes); not counted as a parameter. */
  int64Initializer(name: string, values: readonly number[]): string {
    this.#initializers.push({ name, dims: [values.length], dataType: TENSOR_INT64, int64Data: [...values] })
    return name
  }

  /** Adds a node and returns the name of its (single) output, or `outputName` when given. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outputName?: string) {
    const output = outputName ?? `${opType.toLowerCase()}_${this.#valueCounter++}`
    this.#nodes.push({
      opType,
      name: `${opType}_${this.#nodes.length}`,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([name, attribute]) => encodeAttribute(name, attribute)),
    })
    return output
  }

  encode(options: EncodeOptions): Uint8Array {
    const model = ModelProto.fromObject({
      irVersion: 8,
      producerName: options.producerName,
      producerVersion: options.producerVersion,
      docString: options.docString ?? '',
      opsetImport: [{ domain: '', version: options.opsetVersion }],
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.#name,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    })
    return ModelProto.encode(model).finish()
  }
}

function valueInfo(name: string, dims: readonly Dimension[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType: TENSOR_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  }
}

function encodeAttribute(name: string, attribute: Attribute) {
  switch (attribute.type) {
    case 'int':
      return { name, type: ATTRIBUTE_TYPE.INT, i: attribute.value }
    case 'ints':
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...attribute.value] }
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: attribute.value }
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...attribute.value] }
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(attribute.value) }
  }
}

/**
 * Reads `metadata_props` from an ONNX file without decoding the graph: the graph field is skipped
 * byte-wise, so this stays cheap on a 45 MB model.
 */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const reader = protobuf.Reader.create(bytes)
  const metadata: Record<string, string> = {}
  while (reader.pos < reader.len) {
    const tag = reader.uint32()
    if (tag >>> 3 === METADATA_PROPS_FIELD && (tag & 7) === 2) {
      const entry = StringStringEntryProto.decode(reader, reader.uint32()) as unknown as { key: string; value: string }
      metadata[entry.key] = entry.value
    } else {
      reader.skipType(tag & 7)
    }
  }
  return metadata
}
