/**
 * Float32 tensors reused instead of allocated per request. An image tensor is 0.6 MB and a batch one 0.6 MB per
 * image: allocated afresh, V8 counts every one towards the external memory that starts a full mark-compact of the
 * main heap, which then ran every ~8 requests and took ~2.5 ms of main-thread CPU per request (measured with
 * --trace-gc and --cpu-prof at saturation). An array never given back is simply garbage collected, so the one rule
 * is that only its owner gives an array back, and only once nothing reads or writes it any more.
 */
export class FloatBuffers {
  readonly #free = new Map<number, Float32Array<ArrayBuffer>[]>()
  readonly #keepPerLength: number

  /** `keepPerLength`: free arrays kept per length; more are left to the garbage collector. */
  constructor(keepPerLength = 8) {
    this.#keepPerLength = keepPerLength
  }

  /** An array of `length` floats, reused or new; its contents are whatever was there: write every element. */
  take(length: number): Float32Array<ArrayBuffer> {
    return this.#free.get(length)?.pop() ?? new Float32Array(length)
  }

  /** Gives back an array that owns its whole buffer; a view into a larger one, or a detached one, is ignored. */
  give(array: Float32Array<ArrayBuffer>): void {
    if (array.byteLength === 0 || array.byteOffset !== 0 || array.byteLength !== array.buffer.byteLength) return
    let free = this.#free.get(array.length)
    if (!free) {
      free = []
      this.#free.set(array.length, free)
    }
    if (free.length < this.#keepPerLength && !free.includes(array)) free.push(array)
  }

  /** Free arrays kept, over all lengths. */
  get size(): number {
    let size = 0
    for (const free of this.#free.values()) size += free.length
    return size
  }
}
