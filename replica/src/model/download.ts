import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

export class ChecksumMismatchError extends Error {
  override name = 'ChecksumMismatchError'
}

export interface DownloadOptions {
  url: string
  sha256: string
  destination: string
  timeoutMs: number
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void
}

/**
 * Downloads `url` to `destination` atomically: bytes go to a temporary file beside it, hashed on the way;
 * only a file whose sha256 matches is renamed into place. Anything else is deleted and reported.
 */
export async function downloadVerified(options: DownloadOptions): Promise<void> {
  const { url, sha256, destination, timeoutMs, onProgress } = options
  await mkdir(dirname(destination), { recursive: true })
  const temporary = `${destination}.${process.pid}.${Date.now()}.part`
  const hash = createHash('sha256')
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' }).catch(
      (error: Error & { cause?: Error }) => {
        throw new Error(`could not reach ${new URL(url).host}: ${error.cause?.message ?? error.message}`)
      },
    )
    if (!response.ok || !response.body) throw new Error(`download of ${url} failed: HTTP ${response.status}`)
    const total = Number(response.headers.get('content-length')) || undefined
    let received = 0
    const hasher = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        received += chunk.length
        onProgress?.(received, total)
        callback(null, chunk)
      },
    })
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      hasher,
      createWriteStream(temporary),
    )
    const actual = hash.digest('hex')
    if (actual !== sha256) {
      throw new ChecksumMismatchError(
        `checksum mismatch for ${url}: expected sha256 ${sha256}, got ${actual}; the downloaded file was deleted`,
      )
    }
    await rename(temporary, destination)
  } finally {
    await rm(temporary, { force: true })
  }
}
