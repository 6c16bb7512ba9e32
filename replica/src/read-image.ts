import type { FastifyRequest } from 'fastify'
import { ServiceError } from '../../common/errors.ts'

/** Multipart field names accepted for the image: `file` (the seed API) and `image`. */
export const IMAGE_FIELDS = new Set(['file', 'image'])

/** The uploaded image bytes, from a multipart `file`/`image` field or a raw `image/*` body. */
export async function readImageUpload(request: FastifyRequest): Promise<Buffer> {
  if (request.isMultipart()) {
    let image: Buffer | undefined
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue
      if (!IMAGE_FIELDS.has(part.fieldname)) {
        throw new ServiceError('missing_file', 'expected the image in a multipart field named "file" (or "image")')
      }
      if (image !== undefined) throw new ServiceError('bad_request', 'send exactly one image per request')
      image = await part.toBuffer()
    }
    if (image === undefined) {
      throw new ServiceError('missing_file', 'the multipart body has no "file" field with an image')
    }
    if (image.length === 0) throw new ServiceError('empty_body', 'the uploaded file is empty')
    return image
  }
  const body = request.body
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new ServiceError('empty_body', 'the request has no image: send multipart/form-data with a "file" field')
  }
  if (Buffer.isBuffer(body)) return body
  throw new ServiceError(
    'unsupported_media_type',
    'send multipart/form-data with a "file" field, or the image bytes with an image/* content type',
  )
}
