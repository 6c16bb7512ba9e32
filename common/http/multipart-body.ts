import { FormData, Response } from 'undici'

export interface MultipartPart {
  field: string
  /** A file part when given (the way browsers send uploads); a plain form field otherwise. */
  filename?: string
  /** The file part's type; application/octet-stream when not given. */
  contentType?: string
  data: Buffer | string
}

/**
 * A multipart/form-data body, encoded once by undici's FormData (boundary, quoting and escaping as fetch does), as
 * bytes and the content-type that names its boundary: callers that send it many times (the load tester, benchmarks)
 * pay for the encoding once, not per request.
 */
export async function multipartBody(parts: readonly MultipartPart[]): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData()
  for (const part of parts) {
    if (part.filename === undefined) form.append(part.field, part.data.toString())
    else {
      const bytes = typeof part.data === 'string' ? part.data : new Uint8Array(part.data)
      form.append(part.field, new Blob([bytes], { type: part.contentType ?? '' }), part.filename)
    }
  }
  const encoded = new Response(form)
  return { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! }
}

/** One image as an upload in field `file` (the seed API), the way a browser form sends it. */
export function imageUpload(
  image: Buffer,
  { field = 'file', filename = 'image.jpg', contentType = 'image/jpeg' } = {},
): Promise<{ body: Buffer; contentType: string }> {
  return multipartBody([{ field, filename, contentType, data: image }])
}
