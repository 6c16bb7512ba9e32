import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import sharp from 'sharp'
import { ServiceError } from '../../common/errors.ts'
import { svgUseBomb } from '../../common/testing/svg-bomb.ts'
import {
  ACCEPTED_IMAGE_FORMATS,
  type ImageFormat,
  requireAcceptedImage,
  sniffImageFormat,
} from '../src/image-format.ts'

const ascii = (text: string) => [...Buffer.from(text, 'latin1')]

/** Each accepted format's signatures, as byte arrays any file of it starts with. */
const SIGNATURES: [ImageFormat, fc.Arbitrary<number[]>][] = [
  ['JPEG', fc.constant([0xff, 0xd8, 0xff])],
  ['PNG', fc.constant([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['GIF', fc.constantFrom(ascii('GIF87a'), ascii('GIF89a'))],
  [
    'WebP',
    fc
      .array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
      .map((size) => [...ascii('RIFF'), ...size, ...ascii('WEBP')]),
  ],
  [
    'TIFF',
    fc.constantFrom([...ascii('II'), 42, 0], [...ascii('II'), 43, 0], [...ascii('MM'), 0, 42], [...ascii('MM'), 0, 43]),
  ],
  ['AVIF', avifFtyp()],
]

/** An ISO BMFF `ftyp` box naming `avif` or `avis` as its major brand or among its compatible ones. */
function avifFtyp(): fc.Arbitrary<number[]> {
  const brand = fc.string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789 '),
    minLength: 4,
    maxLength: 4,
  })
  const avif = fc.constantFrom('avif', 'avis')
  return fc
    .tuple(fc.boolean(), avif, brand, fc.array(brand, { maxLength: 6 }), fc.nat({ max: 6 }))
    .map(([asMajor, avifBrand, other, compatible, at]) => {
      const major = asMajor ? avifBrand : other
      const brands = [...compatible]
      if (!asMajor) brands.splice(Math.min(at, brands.length), 0, avifBrand)
      return ftyp(major, brands)
    })
}

function ftyp(major: string, compatible: string[], size?: number): number[] {
  const body = [...ascii('ftyp'), ...ascii(major), 0, 0, 0, 0, ...compatible.flatMap(ascii)]
  const length = Buffer.alloc(4)
  length.writeUInt32BE(size ?? body.length + 4)
  return [...length, ...body]
}

describe('sniffImageFormat', () => {
  test('real images of every accepted format, made by sharp, are recognised', async () => {
    const base = sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a7' } })
    const made: Record<ImageFormat, Buffer> = {
      JPEG: await base.clone().jpeg().toBuffer(),
      PNG: await base.clone().png().toBuffer(),
      WebP: await base.clone().webp().toBuffer(),
      GIF: await base.clone().gif().toBuffer(),
      TIFF: await base.clone().tiff().toBuffer(),
      AVIF: await base.clone().avif().toBuffer(),
    }
    for (const format of ACCEPTED_IMAGE_FORMATS) assert.equal(sniffImageFormat(made[format]), format, format)
    // Big-endian TIFF (sharp writes little-endian): the signature is the other byte order.
    assert.equal(sniffImageFormat(Buffer.from([...ascii('MM'), 0, 42, 0, 0, 0, 8])), 'TIFF')
  })

  test('SVG, compressed SVG, PDF, BMP, HEIC, JPEG 2000, ICO and text are not', () => {
    const refused = {
      'the SVG bomb': svgUseBomb(),
      'SVG with a BOM and leading space': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('  \n<svg/>')]),
      'an XML declaration': Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
      'gzipped SVG (svgz)': gzipSync(svgUseBomb()),
      PDF: Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj'),
      BMP: Buffer.from([...ascii('BM'), 0x36, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0]),
      HEIC: Buffer.from(ftyp('heic', ['mif1', 'heic'])),
      'HEIF (mif1 alone)': Buffer.from(ftyp('mif1', ['mif1', 'miaf'])),
      'JPEG 2000': Buffer.from([0, 0, 0, 0x0c, ...ascii('jP  '), 0x0d, 0x0a, 0x87, 0x0a]),
      ICO: Buffer.from([0, 0, 1, 0, 1, 0, 16, 16]),
      text: Buffer.from('hello, this is not an image'),
      empty: Buffer.alloc(0),
    }
    for (const [name, bytes] of Object.entries(refused)) assert.equal(sniffImageFormat(bytes), undefined, name)
  })

  test('property: a signature of an accepted format followed by anything is that format', () => {
    for (const [format, signature] of SIGNATURES) {
      fc.assert(
        fc.property(signature, fc.uint8Array({ maxLength: 64 }), (prefix, tail) => {
          assert.equal(sniffImageFormat(Uint8Array.from([...prefix, ...tail])), format)
        }),
      )
    }
  })

  test('property: a signature cut short is no format, and neither is anything starting with markup', () => {
    for (const [, signature] of SIGNATURES) {
      fc.assert(
        fc.property(signature, fc.nat(), (prefix, cut) => {
          // An AVIF ftyp box is complete only with its stated size; any shorter prefix is refused.
          const shorter = prefix.slice(0, cut % prefix.length)
          assert.equal(sniffImageFormat(Uint8Array.from(shorter)), undefined)
        }),
      )
    }
    const space = fc.constantFrom(0x20, 0x09, 0x0a, 0x0d)
    fc.assert(
      fc.property(fc.array(space, { maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (lead, tail) => {
        assert.equal(sniffImageFormat(Uint8Array.from([...lead, 0x3c, ...tail])), undefined)
      }),
    )
  })

  test('property: an ftyp box is AVIF only with an AVIF brand inside the box, and a stated size that fits', () => {
    const brand = fc.constantFrom('heic', 'heix', 'mif1', 'msf1', 'miaf', 'isom', 'mp41', 'jxl ')
    fc.assert(
      fc.property(brand, fc.array(brand, { maxLength: 6 }), fc.uint8Array({ maxLength: 32 }), (major, others, tail) => {
        // No AVIF brand in the box: refused, even if one follows the box.
        assert.equal(sniffImageFormat(Uint8Array.from([...ftyp(major, others), ...ascii('avif'), ...tail])), undefined)
        // An AVIF brand, but the box claims more bytes than there are: refused.
        const truncated = ftyp(major, [...others, 'avif'], 16 + 4 * (others.length + 1) + 4)
        assert.equal(sniffImageFormat(Uint8Array.from(truncated)), undefined)
      }),
    )
  })

  test('property: any bytes get the same answer inside a larger buffer (a view at an offset), and never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), fc.nat({ max: 16 }), (bytes, offset) => {
        const shifted = new Uint8Array(bytes.length + offset)
        shifted.set(bytes, offset)
        const view = shifted.subarray(offset)
        assert.equal(sniffImageFormat(view), sniffImageFormat(bytes))
      }),
    )
  })
})

describe('requireAcceptedImage', () => {
  test('refuses with 415 unsupported_media_type naming every accepted format, and says SVG is markup', () => {
    assert.throws(
      () => requireAcceptedImage(svgUseBomb()),
      (error: unknown) =>
        error instanceof ServiceError &&
        error.code === 'unsupported_media_type' &&
        error.statusCode === 415 &&
        ACCEPTED_IMAGE_FORMATS.every((format) => error.message.includes(format)) &&
        /markup \(SVG/.test(error.message),
    )
    assert.equal(requireAcceptedImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'JPEG')
  })
})
