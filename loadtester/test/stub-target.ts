import { EventEmitter, once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Arrival {
  /** performance.now() when the request arrived. */
  at: number
  index: number
  /** Path and query the request was sent to. */
  url: string
  headers: IncomingMessage['headers']
}

export interface StubTargetOptions {
  /** What to answer to request number `index` (from its X-Request-Id): status, label, delay. */
  answer?: (
    index: number,
    truth: string | undefined,
  ) => { status: number; label?: string; delayMs?: number; hang?: boolean; degraded?: boolean }
  /** Serve GET /replicas (at the root) like a gateway. */
  replicas?: () => { ready: number; total: number; desired?: number }
}

/**
 * A prediction endpoint for load-tester tests: records when each request arrived (event 'request'), answers what
 * the test says. The request index comes from the load tester's X-Request-Id (`lt-<run>-<index>`).
 */
export class StubTarget extends EventEmitter {
  readonly arrivals: Arrival[] = []
  /** Path and query of every GET (the load tester's GET /replicas polls). */
  readonly gets: string[] = []
  readonly #server: Server
  readonly #options: StubTargetOptions
  url = ''

  constructor(options: StubTargetOptions = {}) {
    super()
    this.#options = options
    this.#server = createServer((request, response) => void this.#handle(request, response))
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
    return this
  }

  async received(count: number): Promise<void> {
    while (this.arrivals.length < count) await once(this, 'request')
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise((resolve) => this.#server.close(resolve))
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method === 'GET') this.gets.push(String(request.url))
    if (request.method === 'GET' && request.url === '/replicas' && this.#options.replicas) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.#options.replicas()))
      return
    }
    if (request.method === 'GET') {
      response.writeHead(404).end()
      return
    }
    const at = performance.now()
    let body = ''
    for await (const chunk of request) body += (chunk as Buffer).toString('latin1')
    const index = Number(/-(\d+)$/.exec(String(request.headers['x-request-id']))?.[1])
    const truth = /filename="n\d{8}_([^".]+)\./.exec(body)?.[1]?.replaceAll('_', ' ')
    this.arrivals.push({ at, index, url: String(request.url), headers: request.headers })
    this.emit('request')
    const plan = this.#options.answer?.(index, truth) ?? { status: 200, label: truth ?? 'something' }
    if (plan.hang) return
    if (plan.delayMs) await new Promise((resolve) => setTimeout(resolve, plan.delayMs))
    const headers = { 'content-type': 'application/json', 'x-queue-size': String(index % 5) }
    if (plan.status !== 200) {
      response.writeHead(plan.status, headers).end(JSON.stringify({ error: 'no', code: 'queue_full', request_id: 'x' }))
      return
    }
    response.writeHead(200, headers).end(
      JSON.stringify({
        prediction: `${plan.label}: 50.00%`,
        label: plan.label,
        queue_size: index % 5,
        replica: index % 2 === 0 ? 'replica-a' : 'replica-b',
        timing_ms: { upstream: 10 + (index % 3) },
        model: { name: 'stub', version: '1', pretrained: true },
        ...(plan.degraded !== undefined && { degraded: plan.degraded }),
      }),
    )
  }
}
