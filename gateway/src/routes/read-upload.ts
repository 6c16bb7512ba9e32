import type { Readable } from 'node:stream'
import { ServiceError } from '../../../common/errors.ts'

/**
 * Reads an upload into memory within the bytes admission reserved for it. A body that declared its length
 * (Content-Length, reserved whole at admission) is copied into one buffer of that size as it arrives — no list of
 * chunks joined at the end, so it never takes twice its size. A chunked body asks `reserveMore` for each chunk before
 * keeping it; when that refuses, reading stops at once and the rest stays unread (the answer closes the connection).
 */
export function readUpload(
  stream: Readable,
  declaredLength: number | undefined,
  reserveMore: (bytes: number) => ServiceError | undefined,
): Promise<Buffer> {
  const { promise, resolve, reject } = Promise.withResolvers<Buffer>()
  let whole: Buffer | undefined
  const chunks: Buffer[] = []
  let received = 0
  const stop = (error: Error) => {
    stream.off('data', onData).off('end', onEnd).off('error', stop).off('close', onClose)
    stream.pause()
    reject(error)
  }
  const onData = (chunk: Buffer) => {
    if (declaredLength === undefined) {
      const refusal = reserveMore(chunk.length)
      if (refusal) return stop(refusal)
      chunks.push(chunk)
    } else {
      if (received + chunk.length > declaredLength) {
        return stop(new ServiceError('bad_request', 'the body is longer than its Content-Length'))
      }
      whole ??= Buffer.allocUnsafe(declaredLength)
      chunk.copy(whole, received)
    }
    received += chunk.length
  }
  const onEnd = () => {
    stream.off('data', onData).off('error', stop).off('close', onClose)
    if (declaredLength === undefined) return resolve(Buffer.concat(chunks, received))
    if (received !== declaredLength) {
      return reject(new ServiceError('bad_request', 'the body is shorter than its Content-Length'))
    }
    resolve(whole ?? Buffer.alloc(0))
  }
  const onClose = () => stop(new ServiceError('client_closed', 'the client closed the connection during the body'))
  stream.on('data', onData).once('end', onEnd).once('error', stop).once('close', onClose)
  return promise
}
