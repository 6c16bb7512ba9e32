import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ort from 'onnxruntime-node'
import protobuf from 'protobufjs'
import { readOnnxMetadata } from '../src/model/onnx/onnx-graph.ts'
import { buildUntrainedResnet18 } from '../src/model/resnet18-graph.ts'

const model = buildUntrainedResnet18(18)

interface DecodedGraph {
  node: { opType: string; attribute: { name: string; ints?: number[] }[] }[]
  initializer: { name: string; dims: number[] }[]
  input: { name: string; type: { tensorType: { shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[]
}

function decode(bytes: Uint8Array): DecodedGraph {
  const root = protobuf.loadSync(fileURLToPath(new URL('../src/model/onnx/onnx-subset.proto', import.meta.url)))
  const decoded = root.lookupType('onnx.ModelProto').decode(bytes)
  return root.lookupType('onnx.ModelProto').toObject(decoded, { longs: Number, bytes: String }).graph as DecodedGraph
}

describe('the offline ResNet18 graph', () => {
  test('has ResNet18 parameter count with BatchNorm folded (11,689,512 − 4,800 BN scales)', () => {
    assert.equal(model.parameterCount, 11_684_712)
  })

  test('has the ResNet18 layer structure: 20 convolutions (3 of them 1×1 shortcuts), 8 residual adds', () => {
    const graph = decode(model.bytes)
    const count = (op: string) => graph.node.filter((n) => n.opType === op).length
    assert.equal(count('Conv'), 20)
    assert.equal(count('Add'), 8)
    assert.equal(count('Relu'), 17)
    assert.equal(count('MaxPool'), 1)
    assert.equal(count('GlobalAveragePool'), 1)
    assert.equal(count('Gemm'), 1)
    const kernels = graph.node
      .filter((n) => n.opType === 'Conv')
      .map((n) => n.attribute.find((a) => a.name === 'kernel_shape')?.ints?.[0])
    const kernelCount = (size: number) => kernels.filter((k) => k === size).length
    assert.deepEqual([kernelCount(7), kernelCount(3), kernelCount(1)], [1, 16, 3])
    const fc = graph.initializer.find((i) => i.name === 'fc.weight')
    assert.deepEqual(fc?.dims, [1000, 512])
    const inputDims = graph.input[0]!.type.tensorType.shape.dim
    assert.deepEqual(
      inputDims.map((d) => d.dimParam ?? d.dimValue),
      ['N', 3, 224, 224],
    )
  })

  test('is deterministic per seed and says in its metadata that it is untrained', () => {
    const again = buildUntrainedResnet18(18)
    assert.equal(again.weightsSha256, model.weightsSha256)
    assert.notEqual(buildUntrainedResnet18(19).weightsSha256, model.weightsSha256)
    // Pinned: a change here means every deployment's offline predictions change; do it on purpose only.
    assert.equal(model.weightsSha256, '8201a73e89a70c8db1cba6660d74d94b1229ba6605cd9fb5bb28e62b9b7d8668')
    const metadata = readOnnxMetadata(model.bytes)
    assert.equal(metadata['switchyard.pretrained'], 'false')
    assert.equal(metadata['switchyard.seed'], '18')
  })

  test('runs in onnxruntime with a symbolic batch: [N,3,224,224] → [N,1000], rows independent of batch mates', async () => {
    const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 })
    const item = (seed: number) => Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001 + seed))
    const a = item(1)
    const b = item(2)
    const run = async (...items: Float32Array[]) => {
      const data = new Float32Array(items.length * a.length)
      for (const [i, x] of items.entries()) data.set(x, i * a.length)
      const out = await session.run({ input: new ort.Tensor('float32', data, [items.length, 3, 224, 224]) })
      return out.logits!
    }
    const single = await run(a)
    const pair = await run(b, a)
    assert.deepEqual(single.dims, [1, 1000])
    assert.deepEqual(pair.dims, [2, 1000])
    const rowA = (pair.data as Float32Array).subarray(1000, 2000)
    const singleA = single.data as Float32Array
    for (let i = 0; i < 1000; i++) assert.ok(Math.abs(rowA[i]! - singleA[i]!) < 1e-4)
    assert.ok(Array.from(singleA).every(Number.isFinite))
    await session.release()
  })
})
