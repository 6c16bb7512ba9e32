import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { type MultipartPart, multipartBody } from '../http/multipart-body.ts'

/** One hostile request: a body and headers to send, and the 4xx codes an honest service may answer with. */
export interface HostileCase {
  name: string
  body: Buffer
  headers: Record<string, string>
  expect: { status: number; code: string }
}

/** A multipart request as a case needs it: the body and its content-type header. */
async function multipartRequest(parts: MultipartPart[]): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const { body, contentType } = await multipartBody(parts)
  return { body, headers: { 'content-type': contentType } }
}

function asUpload(
  data: Buffer,
  contentType = 'image/jpeg',
): Promise<{ body: Buffer; headers: Record<string, string> }> {
  return multipartRequest([{ field: 'file', filename: 'upload', contentType, data }])
}

/** A valid PNG header claiming `width`×`height` with almost no data: a decompression bomb's calling card. */
export function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(typed))
    return Buffer.concat([length, typed, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale, no interlace
  // One row of zeros compresses to a few bytes; a real bomb would have them all.
  const rows = deflateSync(Buffer.alloc(width + 1))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/**
 * The corpus every service must answer with a clear 4xx JSON error (and survive): built from a real JPEG so the
 * broken files are broken the way real uploads are.
 */
export async function hostileCorpus(jpeg: Buffer): Promise<HostileCase[]> {
  const png = await sharp(jpeg).png().toBuffer()
  const corrupt = Buffer.from(jpeg)
  // Stray markers in the middle of the entropy-coded data: what a bad disk or a broken transfer leaves behind.
  for (let i = 0; i < 4000; i += 2) corrupt.set([0xff, 0xd9], Math.floor(jpeg.length / 3) + i)
  const cases: HostileCase[] = [
    {
      name: 'not an image',
      ...(await asUpload(Buffer.from('hello, this is text, not pixels\n'.repeat(20)))),
      expect: { status: 415, code: 'unsupported_media_type' },
    },
    {
      name: 'truncated JPEG',
      ...(await asUpload(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))),
      expect: { status: 400, code: 'invalid_image' },
    },
    { name: 'corrupt JPEG', ...(await asUpload(corrupt)), expect: { status: 400, code: 'invalid_image' } },
    {
      name: 'truncated PNG',
      ...(await asUpload(png.subarray(0, Math.floor(png.length * 0.5)), 'image/png')),
      expect: { status: 400, code: 'invalid_image' },
    },
    { name: 'zero bytes', ...(await asUpload(Buffer.alloc(0))), expect: { status: 400, code: 'empty_body' } },
    {
      name: 'decompression bomb (60000×60000 PNG)',
      ...(await asUpload(pngBomb(60_000, 60_000), 'image/png')),
      expect: { status: 413, code: 'too_many_pixels' },
    },
    {
      name: 'multipart without a file',
      ...(await multipartRequest([{ field: 'note', data: Buffer.from('no image here') }])),
      expect: { status: 400, code: 'missing_file' },
    },
    {
      name: 'multipart with two files',
      ...(await multipartRequest([
        { field: 'file', filename: 'a.jpg', contentType: 'image/jpeg', data: jpeg },
        { field: 'file', filename: 'b.jpg', contentType: 'image/jpeg', data: jpeg },
      ])),
      expect: { status: 400, code: 'bad_request' },
    },
    {
      name: 'multipart with a 10 KB field name',
      ...(await multipartRequest([
        { field: 'f'.repeat(10_000), filename: 'a.jpg', contentType: 'image/jpeg', data: jpeg },
      ])),
      expect: { status: 400, code: 'missing_file' },
    },
    {
      name: 'X-Timeout-Ms: -1',
      ...withHeader(await asUpload(jpeg), 'x-timeout-ms', '-1'),
      expect: { status: 400, code: 'invalid_header' },
    },
    {
      name: 'X-Timeout-Ms: abc',
      ...withHeader(await asUpload(jpeg), 'x-timeout-ms', 'abc'),
      expect: { status: 400, code: 'invalid_header' },
    },
    {
      name: 'X-Timeout-Ms: enormous',
      ...withHeader(await asUpload(jpeg), 'x-timeout-ms', '9'.repeat(400)),
      expect: { status: 400, code: 'invalid_header' },
    },
    {
      name: 'a 64 KB header',
      ...withHeader(await asUpload(jpeg), 'x-padding', 'x'.repeat(64 * 1024)),
      expect: { status: 431, code: 'invalid_header' },
    },
    {
      name: 'an unknown content type',
      body: jpeg,
      headers: { 'content-type': 'text/csv' },
      expect: { status: 415, code: 'unsupported_media_type' },
    },
  ]
  return cases
}

function withHeader(request: { body: Buffer; headers: Record<string, string> }, name: string, value: string) {
  return { body: request.body, headers: { ...request.headers, [name]: value } }
}
