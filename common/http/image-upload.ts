import { Busboy } from '@fastify/busboy'
import { ServiceError } from '../errors.ts'

/** Multipart field names accepted for the image: `file` (the seed API) and `image`. */
export const IMAGE_FIELDS: ReadonlySet<string> = new Set(['file', 'image'])

/** The field name as it may appear in an error message: client text, kept short and printable. */
function printableField(name: string): string {
  return name.replace(/[^\w.-]/g, '?').slice(0, 64)
}

/**
 * The one rule for the file parts of an upload, the same at the gateway and at a replica: exactly one file, in field
 * `file` or `image`. Given each file part in order with the count of image files before it, the refusal it earns.
 */
export function filePartRefusal(field: string, imagesBefore: number): ServiceError | undefined {
  if (!IMAGE_FIELDS.has(field)) {
    return new ServiceError(
      'missing_file',
      `expected the image in a multipart field named "file" (or "image"), got a file in "${printableField(field)}"`,
    )
  }
  if (imagesBefore > 0) {
    return new ServiceError(
      'bad_request',
      `send exactly one image per request: a second file part ("${printableField(field)}") was found`,
    )
  }
  return undefined
}

export const noImageRefusal = () =>
  new ServiceError('missing_file', 'the multipart body has no "file" field with an image')

/**
 * Checks a whole multipart body held in memory (the gateway's) that has more than one part: malformed multipart, a
 * file in another field, a second file or no file at all is refused here, so it never takes a place in the queue or
 * reaches a replica. A body of one part, every ordinary upload, passes after a native scan for its boundary: parsing
 * it (busboy: about 0.3 ms per 100 KB) would cost more than the rest of the gateway's work on a request, and what can
 * be wrong with a single part (the wrong field, a truncated body) a replica refuses cleanly on its own.
 */
export function checkMultipartUpload(
  body: Buffer,
  headers: Record<string, string | string[] | undefined>,
): Promise<void> {
  const boundary = boundaryOf(String(headers['content-type']))
  if (boundary !== undefined && onePartWhole(body, boundary)) return Promise.resolve()
  return parseAndCheck(body, headers)
}

/** The boundary parameter of a multipart content type, quoted or not. */
function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType)
  return match ? (match[1] ?? match[2]) : undefined
}

/**
 * Whether the body is one part, closed: two lines start with `--boundary` (the opening delimiter and the closing one,
 * `--boundary--`). A second part, or a body cut before its end, is left to the parser.
 */
function onePartWhole(body: Buffer, boundary: string): boolean {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1')
  if (!body.subarray(0, delimiter.length).equals(delimiter)) return false
  const next = Buffer.from(`\r\n--${boundary}`, 'latin1')
  const second = body.indexOf(next, delimiter.length)
  if (second < 0 || body.indexOf(next, second + next.length) >= 0) return false
  return body.subarray(second + next.length, second + next.length + 2).toString('latin1') === '--'
}

function parseAndCheck(body: Buffer, headers: Record<string, string | string[] | undefined>): Promise<void> {
  return new Promise((resolve, reject) => {
    let refusal: ServiceError | undefined
    let images = 0
    let parser: InstanceType<typeof Busboy>
    try {
      // The parts limit bounds the work a body of many tiny parts can cause.
      parser = new Busboy({
        headers: { ...headers, 'content-type': String(headers['content-type']) },
        limits: { parts: 32, fieldNameSize: 100 },
      })
    } catch (error) {
      reject(new ServiceError('bad_request', `malformed multipart request: ${(error as Error).message}`))
      return
    }
    parser.on('file', (field: string, stream: NodeJS.ReadableStream) => {
      // A file cut short errs on its own stream too; the parser's 'error' below answers for both.
      stream.on('error', () => {})
      stream.resume()
      refusal ??= filePartRefusal(field, images)
      images++
    })
    parser.on('partsLimit', () => {
      refusal ??= new ServiceError('bad_request', 'the multipart body has too many parts')
    })
    parser.on('error', (error: Error) => {
      reject(refusal ?? new ServiceError('bad_request', `malformed multipart body: ${error.message}`))
    })
    parser.on('finish', () => {
      if (images === 0) refusal ??= noImageRefusal()
      if (refusal) reject(refusal)
      else resolve()
    })
    parser.end(body)
  })
}
