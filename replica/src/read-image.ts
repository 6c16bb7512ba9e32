import type { FastifyRequest } from 'fastify'
import { ServiceError } from '../../common/errors.ts'
import { filePartRefusal, noImageRefusal } from '../../common/http/image-upload.ts'

/**
 * The uploaded image bytes, from a multipart `file`/`image` field or a raw `image/*` body. A refusal at a part leaves
 * the rest of the body unread: the service app discards it after the answer (installUnreadBodyDrain), so the
 * connection serves its next request.
 */
export async function readImageUpload(request: FastifyRequest): Promise<Buffer> {
  if (request.isMultipart()) {
    let image: Buffer | undefined
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue
      const refusal = filePartRefusal(part.fieldname, image === undefined ? 0 : 1)
      if (refusal) throw refusal
      image = await part.toBuffer()
    }
    if (image === undefined) throw noImageRefusal()
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
