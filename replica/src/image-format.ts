import { ServiceError } from '../../common/errors.ts'

/** The image formats a replica decodes, in the order its errors name them. */
export const ACCEPTED_IMAGE_FORMATS = ['JPEG', 'PNG', 'WebP', 'GIF', 'TIFF', 'AVIF'] as const

export type ImageFormat = (typeof ACCEPTED_IMAGE_FORMATS)[number]

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
/** ISO BMFF brands of AVIF: a still image (`avif`) or a sequence (`avis`). HEIC (`heic`, `mif1` alone) is not AVIF. */
const AVIF_BRANDS = new Set(['avif', 'avis'])

/**
 * The accepted format whose signature `bytes` start with, or undefined. Only these ever reach a decoder: libvips
 * would otherwise pick a loader by content, and some (SVG, PDF) run work no photo needs (an SVG of nested `<use>`
 * renders for tens of seconds from 3 KB).
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'JPEG'
  if (startsWith(bytes, PNG_SIGNATURE)) return 'PNG'
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'GIF'
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'WebP'
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (ascii(bytes, 0, 2) === 'II' && (bytes[2] === 42 || bytes[2] === 43) && bytes[3] === 0) return 'TIFF'
  if (ascii(bytes, 0, 2) === 'MM' && bytes[2] === 0 && (bytes[3] === 42 || bytes[3] === 43)) return 'TIFF'
  if (isAvif(bytes)) return 'AVIF'
  return undefined
}

/** The format of an upload, or a 415 naming the accepted ones. */
export function requireAcceptedImage(bytes: Uint8Array): ImageFormat {
  const format = sniffImageFormat(bytes)
  if (format !== undefined) return format
  throw new ServiceError(
    'unsupported_media_type',
    `the body is not an image in an accepted format (${ACCEPTED_IMAGE_FORMATS.join(', ')})${refusedHint(bytes)}`,
  )
}

/** An ISO BMFF file whose leading `ftyp` box names an AVIF brand (major or compatible). */
function isAvif(bytes: Uint8Array): boolean {
  if (bytes.length < 16 || ascii(bytes, 4, 4) !== 'ftyp') return false
  const boxSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  if (boxSize < 16 || boxSize > bytes.length) return false
  if (AVIF_BRANDS.has(ascii(bytes, 8, 4))) return true
  // Compatible brands follow the major brand and the minor version, 4 bytes each, up to the box's end.
  for (let at = 16; at + 4 <= boxSize; at += 4) {
    if (AVIF_BRANDS.has(ascii(bytes, at, 4))) return true
  }
  return false
}

/** Names the commonest refused uploads, so a client sending SVG learns why. */
function refusedHint(bytes: Uint8Array): string {
  let at = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0
  while (at < bytes.length && at < 1024 && /\s/.test(String.fromCharCode(bytes[at]!))) at++
  if (bytes[at] === 0x3c) return '; this looks like markup (SVG, HTML or XML), which is not decoded'
  if (ascii(bytes, 0, 5) === '%PDF-') return '; this looks like a PDF, which is not decoded'
  return ''
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte)
}

/** `length` bytes from `at` as Latin-1 text; shorter (never equal to a 4-letter tag) where the input ends. */
function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length))
}
