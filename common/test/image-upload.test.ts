import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ServiceError } from '../errors.ts'
import { checkMultipartUpload, filePartRefusal } from '../http/image-upload.ts'
import { type MultipartPart, multipartBody } from '../http/multipart-body.ts'

/** What the check should say, from the parts alone: the replica's rule, part by part, as a replica reads them. */
function expectedVerdict(parts: MultipartPart[], truncated: boolean): string {
  // One whole part passes: the replica judges it (and the check stays cheap for every ordinary upload).
  if (parts.length === 1 && !truncated) return 'ok'
  let images = 0
  for (const part of parts) {
    if (part.filename === undefined) continue
    const refusal = filePartRefusal(part.field, images)
    if (refusal) return refusal.code
    images++
  }
  if (truncated) return 'bad_request'
  return images === 0 ? 'missing_file' : 'ok'
}

const part: fc.Arbitrary<MultipartPart> = fc.record({
  field: fc.constantFrom('file', 'image', 'upload', 'comment', 'x y', 'FILE'),
  // Every part long enough that cutting up to 30 bytes off the body only damages the closing delimiter.
  data: fc.uint8Array({ minLength: 40, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  filename: fc.option(fc.constantFrom('a.jpg', 'b.png', ''), { nil: undefined }),
  contentType: fc.constantFrom('image/jpeg', 'application/octet-stream'),
})

describe('checkMultipartUpload (the gateway’s check of a multipart body)', () => {
  test('property: its verdict is the replica’s rule over the parts, for any parts, whole or cut short', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(part, { minLength: 1, maxLength: 5 }),
        // The final CRLF after `--boundary--` is optional: cutting 3 bytes or more breaks the closing delimiter.
        fc.option(fc.integer({ min: 3, max: 30 }), { nil: undefined }),
        async (parts, cut) => {
          // An empty filename is a text field to busboy, as to the replica's multipart parser.
          const sent = parts.map((p) => (p.filename === '' ? { field: p.field, data: p.data } : p))
          const { body, contentType } = await multipartBody(sent)
          const bytes = cut === undefined ? body : body.subarray(0, body.length - cut)
          const verdict = await checkMultipartUpload(bytes, { 'content-type': contentType }).then(
            () => 'ok',
            (error: unknown) => {
              assert.ok(error instanceof ServiceError, String(error))
              assert.equal(error.statusCode, 400)
              return error.code
            },
          )
          assert.equal(verdict, expectedVerdict(sent, cut !== undefined))
        },
      ),
      { numRuns: 300 },
    )
  })

  test('a content type without a boundary, or garbage for a body, is a 400', async () => {
    await assert.rejects(checkMultipartUpload(Buffer.from('x'), { 'content-type': 'multipart/form-data' }), {
      code: 'bad_request',
    })
    await assert.rejects(
      checkMultipartUpload(Buffer.from('--x\r\ngarbage'), { 'content-type': 'multipart/form-data; boundary=x' }),
      { code: 'bad_request' },
    )
  })
})
