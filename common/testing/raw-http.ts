import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Speaks HTTP/1.1 over a bare socket, for what a well-behaved client library refuses to send: control characters
 * in headers, a body trickled byte by byte. `chunks` are written `gapMs` apart; resolves with the parsed answer
 * when the server closes or has sent the whole body.
 */
export function rawRequest(url: string, chunks: (string | Buffer)[], gapMs = 0): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    const received: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    let next = 0
    const writeNext = () => {
      if (next >= chunks.length || socket.destroyed) return
      socket.write(chunks[next++]!)
      timer = setTimeout(writeNext, gapMs)
    }
    socket.on('connect', writeNext)
    socket.on('data', (data) => {
      received.push(data)
      const parsed = parse(Buffer.concat(received).toString('utf8'))
      if (
        parsed &&
        Buffer.byteLength(parsed.body) >= Number(parsed.headers['content-length'] ?? Number.POSITIVE_INFINITY)
      ) {
        clearTimeout(timer)
        socket.destroy()
        resolve(parsed)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const parsed = parse(Buffer.concat(received).toString('utf8'))
      if (parsed) resolve(parsed)
      else reject(new Error(`connection closed without an HTTP answer (${received.length} chunks)`))
    })
    socket.on('error', () => {})
  })
}

function parse(text: string): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(end + 4) }
}

/**
 * One keep-alive connection driven by hand: write any bytes at any moment, and take its answers one by one (each
 * with a Content-Length body). For what a client library hides: when an answer arrives relative to the body's last
 * byte, and whether the connection still serves a request after it.
 */
export class RawConnection {
  readonly #socket: Socket
  #received = Buffer.alloc(0)
  #closed = false
  #waiter: (() => void) | undefined

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (data) => {
      this.#received = Buffer.concat([this.#received, data])
      this.#waiter?.()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#waiter?.()
    })
    socket.on('error', () => {})
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port), hostname)
    await once(socket, 'connect')
    return new RawConnection(socket)
  }

  write(bytes: string | Buffer): void {
    this.#socket.write(bytes)
  }

  /** The next whole answer; rejects when the connection closes first. */
  async nextResponse(): Promise<RawResponse> {
    for (;;) {
      const end = this.#received.indexOf('\r\n\r\n')
      if (end >= 0) {
        const head = parse(this.#received.subarray(0, end + 4).toString('latin1'))!
        const length = Number(head.headers['content-length'] ?? 0)
        if (this.#received.length >= end + 4 + length) {
          const body = this.#received.subarray(end + 4, end + 4 + length).toString('utf8')
          this.#received = this.#received.subarray(end + 4 + length)
          return { ...head, body }
        }
      }
      if (this.#closed) throw new Error('connection closed without a (whole) answer')
      await new Promise<void>((resolve) => {
        this.#waiter = resolve
      })
      this.#waiter = undefined
    }
  }

  get closed(): boolean {
    return this.#closed
  }

  close(): void {
    this.#socket.destroy()
  }
}

/** A POST as bytes on the wire: request line, headers (Host and Content-Length added) and body. */
export function rawPost(path: string, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${body.length}`]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body])
}
