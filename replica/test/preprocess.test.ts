import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import sharp from 'sharp'
import { ServiceError } from '../../common/errors.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { loadReplicaConfig } from '../src/config.ts'
import {
  centreCrop,
  cropAndNormalise,
  decodeAndResize,
  IMAGENET_PREPROCESS,
  imageToTensor,
  type NormaliseSpec,
  normalisedValue,
  setPreprocessThreads,
  shorterSideTo,
} from '../src/preprocess.ts'

const spec = { ...IMAGENET_PREPROCESS, maxInputPixels: 40_000_000 }
const { mean, std } = IMAGENET_PREPROCESS
const PLANE = 224 * 224

/** Pixel value of channel c at (x, y): distinct per channel and position, so order and offsets are visible. */
const pixel = (x: number, y: number, c: number) => [(x * 7 + y * 3) % 256, (x + 2 * y) % 256, (x * y + 11) % 256][c]!

function rgb(width: number, height: number, value = pixel): Buffer {
  const data = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = value(x, y, c)
  return data
}

const png = (data: Buffer, width: number, height: number, channels: 1 | 3 | 4 = 3) =>
  sharp(data, { raw: { width, height, channels } }).png().toBuffer()

/** Hand-computed reference: crop at (left, top), normalise each channel, lay out CHW. */
function expectedTensor(left: number, top: number): Float32Array {
  const out = new Float32Array(3 * PLANE)
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 224; y++)
      for (let x = 0; x < 224; x++)
        out[c * PLANE + y * 224 + x] = (pixel(left + x, top + y, c) / 255 - mean[c]!) / std[c]!
  return out
}

describe('imageToTensor', () => {
  test('a 300×256 image: no resize, crop at left 38, top 16, RGB planes normalised with ImageNet mean/std', async () => {
    const tensor = await imageToTensor(await png(rgb(300, 256), 300, 256), spec)
    assert.equal(tensor.length, 3 * PLANE)
    assert.deepEqual(tensor, expectedTensor(38, 16))
    // Spot-check one value by hand: red at output (0,0) is pixel (38,16) = (38*7 + 16*3) % 256 = 58.
    assert.equal(tensor[0], Math.fround((58 / 255 - 0.485) / 0.229))
  })

  test('a 256×301 image: the vertical offset (77/2 = 38.5) rounds half to even, as torchvision does', async () => {
    const tensor = await imageToTensor(await png(rgb(256, 301), 256, 301), spec)
    assert.deepEqual(tensor, expectedTensor(16, 38))
  })

  test('EXIF orientation is applied before resizing and cropping', async () => {
    const upright = rgb(300, 256)
    // Store the image rotated 90° counter-clockwise and tag it "rotate 90° clockwise to display" (orientation 6).
    const stored = await sharp(upright, { raw: { width: 300, height: 256, channels: 3 } })
      .rotate(-90)
      .raw()
      .toBuffer()
    const tagged = await sharp(stored, { raw: { width: 256, height: 300, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .png()
      .toBuffer()
    assert.deepEqual(await imageToTensor(tagged, spec), expectedTensor(38, 16))
  })

  test('a greyscale image becomes three equal channels', async () => {
    const grey = await png(Buffer.alloc(256 * 256, 200), 256, 256, 1)
    const tensor = await imageToTensor(grey, spec)
    for (let c = 0; c < 3; c++) assert.equal(tensor[c * PLANE + 1234], Math.fround((200 / 255 - mean[c]!) / std[c]!))
  })

  test('transparent pixels are flattened onto white', async () => {
    const transparent = await png(Buffer.alloc(256 * 256 * 4, 0), 256, 256, 4)
    const tensor = await imageToTensor(transparent, spec)
    for (let c = 0; c < 3; c++) assert.equal(tensor[c * PLANE], Math.fround((1 - mean[c]!) / std[c]!))
  })

  test('real ImageNet JPEGs give finite values in the normalised range', async () => {
    for (const image of someSampleImages(5)) {
      const tensor = await imageToTensor(image.bytes(), spec)
      assert.equal(tensor.length, 3 * PLANE)
      for (const v of tensor) assert.ok(v >= -2.2 && v <= 2.7, `${image.name}: ${v} out of range`)
    }
  })

  test('other formats decode: WebP, GIF, TIFF, AVIF', async () => {
    const source = sharp(rgb(256, 256), { raw: { width: 256, height: 256, channels: 3 } })
    for (const format of ['webp', 'gif', 'tiff', 'avif'] as const) {
      const bytes = await source.clone().toFormat(format).toBuffer()
      assert.equal((await imageToTensor(bytes, spec)).length, 3 * PLANE, format)
    }
  })
})

describe('imageToTensor refuses bad input with a typed error', () => {
  const rejectsWith = async (bytes: Uint8Array, code: string, options = spec) =>
    assert.rejects(imageToTensor(bytes, options), (error: unknown) => {
      assert.ok(error instanceof ServiceError, String(error))
      assert.equal(error.code, code, error.message)
      return true
    })

  test('not an image → unsupported_media_type', () =>
    rejectsWith(Buffer.from('hello, world'), 'unsupported_media_type'))
  test('zero bytes → empty_body', () => rejectsWith(Buffer.alloc(0), 'empty_body'))

  test('a truncated JPEG → invalid_image', async () => {
    const jpeg = someSampleImages(1)[0]!.bytes()
    await rejectsWith(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'invalid_image')
  })

  test('a decompression bomb (12000×12000, a few hundred KB) → too_many_pixels', async () => {
    const bomb = await sharp({ create: { width: 12_000, height: 12_000, channels: 3, background: '#000' } })
      .png({ compressionLevel: 9 })
      .toBuffer()
    assert.ok(bomb.length < 2_000_000)
    await rejectsWith(bomb, 'too_many_pixels')
  })

  test('an aspect ratio beyond 16:1 → invalid_image (resizing it would cost unbounded memory)', async () => {
    const sliver = await png(Buffer.alloc(1 * 200_000 * 3, 9), 1, 200_000)
    await rejectsWith(sliver, 'invalid_image')
    const wide = await png(Buffer.alloc(17 * 1 * 3, 9), 17, 1)
    await rejectsWith(wide, 'invalid_image')
    const fine = await png(Buffer.alloc(16 * 1 * 3, 9), 16, 1)
    assert.equal((await imageToTensor(fine, spec)).length, 3 * PLANE)
  })

  test('a JPEG truncated anywhere is refused, even when the missing rows lie outside the centre crop', async () => {
    for (const image of someSampleImages(4)) {
      const jpeg = image.bytes()
      for (const fraction of [0.3, 0.9, 0.99])
        await rejectsWith(jpeg.subarray(0, Math.floor(jpeg.length * fraction)), 'invalid_image')
    }
  })
})

describe('resize and crop geometry', () => {
  test('the shorter side becomes 256 and the 224 crop always fits inside', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 20_000 }), (width, height) => {
        const resized = shorterSideTo(width, height, 256)
        assert.equal(Math.min(resized.width, resized.height), 256)
        const crop = centreCrop(resized.width, resized.height, 224)
        assert.ok(crop.left >= 0 && crop.left + 224 <= resized.width)
        assert.ok(crop.top >= 0 && crop.top + 224 <= resized.height)
        // The crop is centred to within half a pixel.
        assert.ok(Math.abs(crop.left - (resized.width - 224) / 2) <= 0.5)
      }),
    )
  })

  test('matches torchvision on known sizes', () => {
    assert.deepEqual(shorterSideTo(500, 375, 256), { width: 341, height: 256 })
    assert.deepEqual(centreCrop(341, 256, 224), { left: 58, top: 16 })
    assert.deepEqual(shorterSideTo(375, 500, 256), { width: 256, height: 341 })
  })
})

describe('cropAndNormalise: the fused one-pass normaliser', () => {
  const channel = fc.double({ min: -2, max: 2, noNaN: true })
  const deviation = fc.double({ min: 0.05, max: 4, noNaN: true })
  const normaliseCase = fc
    .record({
      size: fc.integer({ min: 1, max: 12 }),
      extraWidth: fc.integer({ min: 0, max: 6 }),
      extraHeight: fc.integer({ min: 0, max: 6 }),
      layout: fc.constantFrom('NCHW' as const, 'NHWC' as const),
      scale: fc.oneof(fc.constant(1 / 255), fc.double({ min: 0.001, max: 2, noNaN: true })),
      mean: fc.tuple(channel, channel, channel),
      std: fc.tuple(deviation, deviation, deviation),
      seed: fc.integer(),
    })
    .chain((c) =>
      fc.record({
        c: fc.constant(c),
        left: fc.integer({ min: 0, max: c.extraWidth }),
        top: fc.integer({ min: 0, max: c.extraHeight }),
        bytes: fc.uint8Array({
          minLength: 3 * (c.size + c.extraWidth) * (c.size + c.extraHeight),
          maxLength: 3 * (c.size + c.extraWidth) * (c.size + c.extraHeight),
        }),
      }),
    )

  test('every element equals the reference formula (v · scale − mean) / std at its CHW or HWC place', () => {
    fc.assert(
      fc.property(normaliseCase, ({ c, left, top, bytes }) => {
        const width = c.size + c.extraWidth
        const spec: NormaliseSpec = { inputSize: c.size, layout: c.layout, scale: c.scale, mean: c.mean, std: c.std }
        // Stale contents in a reused buffer must all be overwritten.
        const out = cropAndNormalise(
          bytes,
          width,
          { left, top },
          spec,
          new Float32Array(3 * c.size ** 2).fill(Number.NaN),
        )
        const plane = c.size * c.size
        for (let y = 0; y < c.size; y++)
          for (let x = 0; x < c.size; x++)
            for (let ch = 0; ch < 3; ch++) {
              const v = bytes[((top + y) * width + left + x) * 3 + ch]!
              const expected = ((v * c.scale - c.mean[ch]!) / c.std[ch]!) as number
              const at = c.layout === 'NCHW' ? ch * plane + y * c.size + x : (y * c.size + x) * 3 + ch
              const got = out[at]!
              // float32 rounding of the result (and of v/255 against v · (1/255)): a few ulps.
              assert.ok(Math.abs(got - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${got} vs ${expected}`)
              assert.equal(got, normalisedValue(v, ch, spec))
            }
      }),
    )
  })

  test('ImageNet scale: v/255 exactly as torchvision computes it, to the last bit', () => {
    for (let v = 0; v < 256; v++)
      for (let c = 0; c < 3; c++)
        assert.equal(normalisedValue(v, c, IMAGENET_PREPROCESS), Math.fround((v / 255 - mean[c]!) / std[c]!))
  })

  test('a crop outside the image or a wrongly sized output is a RangeError, not a garbage tensor', () => {
    const bytes = new Uint8Array(3 * 5 * 5)
    const small = { ...IMAGENET_PREPROCESS, inputSize: 4 }
    assert.throws(() => cropAndNormalise(bytes, 5, { left: 2, top: 0 }, small), RangeError)
    assert.throws(() => cropAndNormalise(bytes, 5, { left: 0, top: 2 }, small), RangeError)
    assert.throws(() => cropAndNormalise(bytes, 5, { left: 0, top: 0 }, small, new Float32Array(10)), RangeError)
    assert.equal(cropAndNormalise(bytes, 5, { left: 1, top: 1 }, small).length, 48)
  })
})

describe('JPEG shrink-on-load', () => {
  test('a 12-megapixel JPEG: libjpeg’s 1/8 decode gives nearly the pixels of sharp’s conservative 1/4 one', async () => {
    const photo = await sharp(someSampleImages(1, 500)[0]!.bytes())
      .resize(4032, 3024, { fit: 'fill' })
      .jpeg({ quality: 92 })
      .toBuffer()
    const fast = await decodeAndResize(photo, spec)
    const conservative = await decodeAndResize(photo, spec, { fastShrinkOnLoad: false })
    assert.deepEqual([fast.width, fast.height], [341, 256])
    assert.deepEqual([conservative.width, conservative.height], [341, 256])
    let sum = 0
    for (let i = 0; i < fast.pixels.length; i++) sum += Math.abs(fast.pixels[i]! - conservative.pixels[i]!)
    // The setting changes the pixels, so libjpeg's shrink is in effect in this pipeline (an extract or a pipeline
    // colourspace before the resize would turn it off, and both would decode every pixel)...
    assert.ok(sum > 0, 'the two shrink-on-load settings gave identical pixels: shrink-on-load is not in effect')
    // ...and only slightly: mean absolute difference per byte, out of 255, a smoothing difference, not another picture.
    assert.ok(sum / fast.pixels.length < 2, `mean difference ${sum / fast.pixels.length}`)
  })
})

describe('SHARP_CONCURRENCY', () => {
  test('more libvips threads per image give the same tensors; the setting refuses 0', async () => {
    const images = someSampleImages(3, 331).map((image) => image.bytes())
    const one = await Promise.all(images.map((bytes) => imageToTensor(bytes, spec)))
    setPreprocessThreads(4)
    try {
      assert.equal(sharp.concurrency(), 4)
      const four = await Promise.all(images.map((bytes) => imageToTensor(bytes, spec)))
      for (const [i, tensor] of four.entries()) assert.deepEqual(tensor, one[i])
    } finally {
      setPreprocessThreads(1)
    }
    assert.equal(loadReplicaConfig({ env: { SHARP_CONCURRENCY: '2' }, argv: [] }).sharpConcurrency, 2)
    assert.equal(loadReplicaConfig({ env: {}, argv: [] }).sharpConcurrency, 1)
    assert.throws(() => loadReplicaConfig({ env: {}, argv: ['--sharp-concurrency', '0'] }), /sharp-concurrency/)
  })
})
