/** Builds a multipart/form-data body by hand, so tests control every byte (field names, file count). */
export function multipartBody(
  parts: { field: string; filename?: string; contentType?: string; data: Buffer | string }[],
): { body: Buffer; contentType: string } {
  const boundary = `----switchyard${Math.random().toString(16).slice(2)}`
  const chunks: Buffer[] = []
  for (const part of parts) {
    const filename = part.filename !== undefined ? `; filename="${part.filename}"` : ''
    const type = part.contentType !== undefined ? `\r\nContent-Type: ${part.contentType}` : ''
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.field}"${filename}${type}\r\n\r\n`),
    )
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

export function imageUpload(image: Buffer, field = 'file') {
  return multipartBody([{ field, filename: 'image.jpg', contentType: 'image/jpeg', data: image }])
}
