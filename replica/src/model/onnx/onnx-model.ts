import { endianness } from 'node:os'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

/**
 * An ONNX model decoded into plain objects that a graph rewrite can edit and encode again (the quantiser's view of a
 * model). Only the fields in onnx-subset.proto survive a round trip; models that need others (external data) are
 * refused when read rather than written back incomplete.
 */
const root = protobuf.loadSync(fileURLToPath(new URL('./onnx-subset.proto', import.meta.url)))
const ModelProto = root.lookupType('onnx.ModelProto')

export const TENSOR_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const

export interface OnnxAttribute {
  name: string
  type?: number
  f?: number
  i?: number
  s?: Uint8Array
  floats?: number[]
  ints?: number[]
  t?: OnnxTensor
}

export interface OnnxNode {
  opType: string
  name?: string
  domain?: string
  input: string[]
  output: string[]
  attribute?: OnnxAttribute[]
}

export interface OnnxTensor {
  name: string
  dims?: number[]
  dataType: number
  rawData?: Uint8Array
  floatData?: number[]
  int32Data?: number[]
  int64Data?: number[]
  doubleData?: number[]
  externalData?: unknown[]
  dataLocation?: number
}

export interface OnnxValueInfo {
  name: string
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } }
}

export interface OnnxGraph {
  name?: string
  node: OnnxNode[]
  initializer: OnnxTensor[]
  input: OnnxValueInfo[]
  output: OnnxValueInfo[]
  valueInfo?: OnnxValueInfo[]
  docString?: string
}

export interface OnnxModel {
  irVersion?: number
  opsetImport: { domain?: string; version: number }[]
  producerName?: string
  producerVersion?: string
  docString?: string
  graph: OnnxGraph
  metadataProps?: { key: string; value: string }[]
}

export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  const decoded = ModelProto.decode(bytes)
  const model = ModelProto.toObject(decoded, { longs: Number, arrays: true, defaults: false }) as OnnxModel
  if (!model.graph) throw new Error('not an ONNX model: no graph')
  for (const key of ['node', 'initializer', 'input', 'output'] as const) model.graph[key] ??= []
  for (const tensor of model.graph.initializer) {
    if (tensor.dataLocation === 1 || (tensor.externalData?.length ?? 0) > 0) {
      throw new Error(`initializer ${tensor.name} keeps its data outside the ONNX file; not supported`)
    }
  }
  return model
}

export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(model)).finish()
}

/** The opset of the default ONNX domain the model imports. */
export function defaultOpset(model: OnnxModel): number {
  return model.opsetImport.find((o) => !o.domain)?.version ?? 1
}

/** A float tensor's values, whichever field holds them. */
export function floatValues(tensor: OnnxTensor): Float32Array {
  if (tensor.dataType !== TENSOR_TYPE.FLOAT) throw new Error(`tensor ${tensor.name} is not float32`)
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    // A copy into a buffer of its own: protobufjs may hand out a Node Buffer, a view into a larger pool whose
    // `slice()` is another view, not a copy (and a Float32Array over it needs an offset that is a multiple of 4).
    const copy = new Uint8Array(tensor.rawData.byteLength)
    copy.set(tensor.rawData)
    return new Float32Array(copy.buffer)
  }
  return Float32Array.from(tensor.floatData ?? [])
}

export function tensorDims(tensor: OnnxTensor): number[] {
  return (tensor.dims ?? []).map(Number)
}

/** A tensor whose values are written as little-endian raw bytes. */
export function rawTensor(
  name: string,
  dims: readonly number[],
  values: Float32Array | Int8Array | Uint8Array | Int32Array,
): OnnxTensor {
  if (endianness() !== 'LE') throw new Error('ONNX raw tensor data is little-endian; this host is big-endian')
  const dataType =
    values instanceof Float32Array
      ? TENSOR_TYPE.FLOAT
      : values instanceof Int8Array
        ? TENSOR_TYPE.INT8
        : values instanceof Uint8Array
          ? TENSOR_TYPE.UINT8
          : TENSOR_TYPE.INT32
  return {
    name,
    dims: [...dims],
    dataType,
    rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
  }
}

export function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name)
}

export function intAttribute(node: OnnxNode, name: string, fallback: number): number {
  const found = attribute(node, name)
  return found?.i === undefined ? fallback : Number(found.i)
}

export const ATTRIBUTE_INT = 2
export const ATTRIBUTE_FLOAT = 1

export function intAttr(name: string, value: number): OnnxAttribute {
  return { name, type: ATTRIBUTE_INT, i: value }
}
