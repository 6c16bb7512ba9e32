import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { FloatBuffers } from '../src/model/float-buffers.ts'

describe('FloatBuffers: tensors reused across requests', () => {
  test('property: an array is never handed out twice while its holder still has it, and always has the length asked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ take: fc.constantFrom(4, 8) }), fc.record({ give: fc.nat(20) })), {
          maxLength: 60,
        }),
        (steps) => {
          const buffers = new FloatBuffers(3)
          const held: Float32Array<ArrayBuffer>[] = []
          for (const step of steps) {
            if ('take' in step) {
              const array = buffers.take(step.take)
              assert.equal(array.length, step.take)
              assert.ok(!held.some((h) => h.buffer === array.buffer), 'handed out while held')
              held.push(array)
            } else if (held.length > 0) {
              // A holder may give back twice by mistake: the second must not make two takers share it.
              const [array] = held.splice(step.give % held.length, 1)
              buffers.give(array!)
              buffers.give(array!)
            }
          }
          assert.ok(buffers.size <= 2 * 3, 'at most keepPerLength kept per length')
        },
      ),
    )
  })

  test('a view into a larger buffer and a detached (transferred) array are not kept', () => {
    const buffers = new FloatBuffers()
    const whole = new Float32Array(8)
    buffers.give(whole.subarray(0, 4))
    const transferred = new Float32Array(4)
    structuredClone(transferred.buffer, { transfer: [transferred.buffer] })
    buffers.give(transferred)
    assert.equal(buffers.size, 0)
    buffers.give(whole)
    assert.equal(buffers.take(8), whole, 'a whole array is reused')
  })
})
