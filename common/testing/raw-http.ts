import { connect } from 'node:net'

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
