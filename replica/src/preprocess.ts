import sharp from 'sharp'
import { ServiceError } from '../../common/errors.ts'
import { ACCEPTED_IMAGE_FORMATS } from './image-format.ts'

export interface PreprocessSpec {
  /** Side of the square network input (224 for ResNet18). */
  inputSize: number
  /** `shorter-side-crop`: torchvision's Resize + CenterCrop. `stretch`: resized straight to the input size. */
  resize: 'shorter-side-crop' | 'stretch'
  /** For `shorter-side-crop`: the shorter side is resized to this before the centre crop (256 for torchvision). */
  resizeShorterTo?: number
  /** Layout of the tensor produced: planar (NCHW) or interleaved (NHWC). */
  layout: 'NCHW' | 'NHWC'
  /** Each byte v becomes (v · scale − mean) / std. */
  scale: number
  mean: readonly [number, number, number]
  std: readonly [number, number, number]
  /** Images with more pixels than this are refused before decoding (decompression bombs). */
  maxInputPixels: number
}

export const IMAGENET_PREPROCESS: Omit<PreprocessSpec, 'maxInputPixels'> = {
  inputSize: 224,
  resize: 'shorter-side-crop',
  resizeShorterTo: 256,
  layout: 'NCHW',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
}

// libvips runs one thread per image unless the replica says otherwise (SHARP_CONCURRENCY): a replica gets its
// parallelism from overlapping requests, not from splitting one image.
sharp.concurrency(1)
sharp.cache(false)

/** libvips threads per image (sharp.concurrency), for the whole process. */
export function setPreprocessThreads(threads: number): void {
  sharp.concurrency(threads)
}

/**
 * Decodes an image and produces the network input as float32 (CHW or HWC): EXIF orientation applied, alpha
 * flattened onto white, grey or CMYK turned into sRGB; then either the shorter side resized to `resizeShorterTo`
 * (torchvision's `Resize`) and centre-cropped to `inputSize` (torchvision's `CenterCrop` offsets), or stretched to
 * `inputSize` square; each channel normalised as (v · scale − mean) / std.
 */
export async function imageToTensor(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  allocate: (length: number) => Float32Array<ArrayBuffer> = (length) => new Float32Array(length),
): Promise<Float32Array<ArrayBuffer>> {
  const resized = await decodeAndResize(bytes, spec)
  const crop = centreCrop(resized.width, resized.height, spec.inputSize)
  return cropAndNormalise(resized.pixels, resized.width, crop, spec, allocate(3 * spec.inputSize * spec.inputSize))
}

export interface ResizedImage {
  /** Interleaved RGB bytes (HWC), `width` × `height`. */
  pixels: Buffer
  width: number
  height: number
}

/**
 * The decoding half of `imageToTensor`: checks, decode, orientation, colour and resize, up to the RGB bytes.
 * A JPEG much larger than the target is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (libvips'
 * shrink-on-load, which sharp applies to this pipeline: nothing extracted before the resize, no pipeline
 * colourspace), at the largest of those factors the resize allows (sharp's `fastShrinkOnLoad`); `false` is sharp's
 * conservative choice, a factor of 2 less, left to the resize — for the benchmark that measures what it saves.
 */
export async function decodeAndResize(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  { fastShrinkOnLoad = true }: { fastShrinkOnLoad?: boolean } = {},
): Promise<ResizedImage> {
  const options = { limitInputPixels: spec.maxInputPixels, failOn: 'warning' as const }
  let width: number
  let height: number
  try {
    const metadata = await sharp(bytes, options).metadata()
    ;({ width, height } = metadata.autoOrient)
  } catch (error) {
    throw decodeError(error)
  }
  if (width * height > spec.maxInputPixels) {
    throw new ServiceError(
      'too_many_pixels',
      `image has ${width}×${height} pixels, above the limit of ${spec.maxInputPixels}`,
    )
  }
  const resized =
    spec.resize === 'stretch'
      ? { width: spec.inputSize, height: spec.inputSize }
      : shorterSideTo(width, height, spec.resizeShorterTo ?? spec.inputSize)
  if (Math.max(width, height) > MAX_ASPECT_RATIO * Math.min(width, height)) {
    throw new ServiceError('invalid_image', `image aspect ratio ${width}×${height} is beyond ${MAX_ASPECT_RATIO}:1`)
  }
  let pixels: Buffer
  try {
    // The whole resized image is produced (no extract in libvips): libvips decodes lazily, and cropping
    // there would let a truncated file pass whenever its missing rows fall outside the crop.
    pixels = await sharp(bytes, options)
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(resized.width, resized.height, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer()
  } catch (error) {
    throw decodeError(error)
  }
  return { pixels, ...resized }
}

/** Wider or taller images are refused: no photo needs it, and resizing them would cost unbounded memory. */
export const MAX_ASPECT_RATIO = 16

/** torchvision `Resize(n)`: the shorter side becomes n, the longer one is scaled and truncated to an integer. */
export function shorterSideTo(width: number, height: number, shorter: number): { width: number; height: number } {
  if (width <= height) return { width: shorter, height: Math.max(shorter, Math.trunc((shorter * height) / width)) }
  return { width: Math.max(shorter, Math.trunc((shorter * width) / height)), height: shorter }
}

/** torchvision `CenterCrop`: offsets are round((size - crop) / 2) with Python's round-half-to-even. */
export function centreCrop(width: number, height: number, size: number): { left: number; top: number } {
  return { left: roundHalfToEven((width - size) / 2), top: roundHalfToEven((height - size) / 2) }
}

function roundHalfToEven(x: number): number {
  const floor = Math.floor(x)
  const diff = x - floor
  if (diff > 0.5) return floor + 1
  if (diff < 0.5) return floor
  return floor % 2 === 0 ? floor : floor + 1
}

/**
 * Cuts the `inputSize` square at `crop` out of interleaved RGB bytes (HWC, `width` pixels per row) and lays it
 * out as normalised float32, planar (CHW) or interleaved (HWC), into `out` (every element written). One pass:
 * each pixel's three bytes are read once, looked up in the spec's tables (made once per spec) and written where
 * they go — no intermediate array, nothing allocated per call.
 */
export function cropAndNormalise(
  rgb: Uint8Array,
  width: number,
  crop: { left: number; top: number },
  spec: NormaliseSpec,
  out: Float32Array<ArrayBuffer> = new Float32Array(3 * spec.inputSize * spec.inputSize),
): Float32Array<ArrayBuffer> {
  const size = spec.inputSize
  const plane = size * size
  if (out.length !== 3 * plane) throw new RangeError(`the output holds ${out.length} floats, not ${3 * plane}`)
  if (crop.left < 0 || crop.top < 0 || crop.left + size > width || (crop.top + size) * width * 3 > rgb.length) {
    throw new RangeError(`the ${size}-pixel crop at (${crop.left}, ${crop.top}) is outside the image`)
  }
  const [r, g, b] = normalisationTables(spec)
  if (spec.layout === 'NCHW') {
    for (let y = 0; y < size; y++) {
      let i = ((crop.top + y) * width + crop.left) * 3
      let o = y * size
      const rowEnd = o + size
      for (; o < rowEnd; o++, i += 3) {
        out[o] = r[rgb[i]!]!
        out[o + plane] = g[rgb[i + 1]!]!
        out[o + 2 * plane] = b[rgb[i + 2]!]!
      }
    }
  } else {
    for (let y = 0; y < size; y++) {
      const from = ((crop.top + y) * width + crop.left) * 3
      const to = y * size * 3
      for (let k = 0; k < size * 3; k += 3) {
        out[to + k] = r[rgb[from + k]!]!
        out[to + k + 1] = g[rgb[from + k + 1]!]!
        out[to + k + 2] = b[rgb[from + k + 2]!]!
      }
    }
  }
  return out
}

export type NormaliseSpec = Pick<PreprocessSpec, 'mean' | 'std' | 'scale' | 'inputSize' | 'layout'>

/** The reference formula for one byte of channel `c`: (v · scale − mean) / std, as float32. */
export function normalisedValue(v: number, c: number, spec: Pick<PreprocessSpec, 'mean' | 'std' | 'scale'>): number {
  // scale 1/255 is applied as a division so ImageNet values match torchvision's v/255 to the last bit.
  const unit = Math.abs(spec.scale * 255 - 1) < 1e-12 ? v / 255 : v * spec.scale
  return Math.fround((unit - spec.mean[c]!) / spec.std[c]!)
}

/** Per spec (a model's, made once), the 256 normalised values of each channel. */
const tables = new WeakMap<object, readonly [Float32Array, Float32Array, Float32Array]>()

function normalisationTables(spec: NormaliseSpec): readonly [Float32Array, Float32Array, Float32Array] {
  let found = tables.get(spec)
  if (!found) {
    const table = (c: number) => Float32Array.from({ length: 256 }, (_, v) => normalisedValue(v, c, spec))
    found = [table(0), table(1), table(2)]
    tables.set(spec, found)
  }
  return found
}

function decodeError(error: unknown): ServiceError {
  const message = error instanceof Error ? error.message : String(error)
  if (message.includes('unsupported image format')) {
    return new ServiceError(
      'unsupported_media_type',
      `the body is not an image in a supported format (${ACCEPTED_IMAGE_FORMATS.join(', ')})`,
    )
  }
  if (message.includes('Input Buffer is empty')) return new ServiceError('empty_body', 'the image is empty (0 bytes)')
  if (message.includes('exceeds pixel limit')) {
    return new ServiceError('too_many_pixels', 'image dimensions exceed the pixel limit')
  }
  return new ServiceError('invalid_image', `the image could not be decoded: ${message.split('\n')[0]}`)
}
