import { EventEmitter, once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type StubMode = 'ok' | 'reject400' | 'error500' | 'busy503' | 'shutting503' | 'hang' | 'reset'

export interface StubReplicaOptions {
  name?: string
  /** Service time of a prediction, ms. */
  delayMs?: number
  mode?: StubMode
  ready?: boolean
  /** How long `/readyz` takes to answer, ms; Infinity: it never answers (the process hangs, the port stays open). */
  probeDelayMs?: number
  host?: string
  port?: number
  /** Predictions it holds at once; one more is refused at once, body unread, with 503 replica_full (a real replica's MAX_INFLIGHT). */
  maxInflight?: number
  /** Model versions it advertises on /readyz and names in answers (default: none advertised, answers name stub 1). */
  models?: { name: string; version: string }[]
}

export interface StubRequest {
  at: number
  headers: IncomingMessage['headers']
  bytes: number
}

/**
 * A stand-in replica for tests about the gateway's own behaviour: answers `/readyz` and `/predict` like a real
 * replica (same JSON shape, load headers) with a configurable service time and failure mode. Emits 'request' for
 * every prediction it receives, so tests wait on events rather than on time.
 */
export class StubReplica extends EventEmitter {
  readonly name: string
  delayMs: number
  mode: StubMode
  ready: boolean
  probeDelayMs: number
  models: { name: string; version: string }[] | undefined
  probes = 0
  /**
   * The next this many probes get no answer at all, their connection cut (then probeDelayMs applies again): a miss
   * the prober sees at once, whatever its timeout. A probe that hangs is probeDelayMs = Infinity.
   */
  unansweredProbes = 0
  readonly requests: StubRequest[] = []
  inflight = 0
  maxInflight: number
  /** When each prediction refused as full arrived (performance.now() ms). */
  readonly refusedAt: number[] = []
  /** While set, predictions wait for it before their service time starts (see holdAnswers). */
  #held: Promise<void> | undefined
  #server: Server
  readonly #sockets = new Set<Socket>()
  #url = ''

  private constructor(options: StubReplicaOptions) {
    super()
    this.name = options.name ?? 'stub'
    this.delayMs = options.delayMs ?? 5
    this.mode = options.mode ?? 'ok'
    this.ready = options.ready ?? true
    this.probeDelayMs = options.probeDelayMs ?? 0
    this.models = options.models
    this.maxInflight = options.maxInflight ?? Number.POSITIVE_INFINITY
    this.#server = createServer((request, response) => void this.#handle(request, response))
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  static async start(options: StubReplicaOptions = {}): Promise<StubReplica> {
    const stub = new StubReplica(options)
    await stub.listen(options.host ?? '127.0.0.1', options.port ?? 0)
    return stub
  }

  get url(): string {
    return this.#url
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  async listen(host: string, port: number): Promise<void> {
    this.#server.listen(port, host)
    await once(this.#server, 'listening')
    this.#url = `http://${host}:${this.port}`
  }

  /** Resolves when this stub has received `count` predictions in total. */
  async received(count: number): Promise<void> {
    while (this.requests.length < count) await once(this, 'request')
  }

  /**
   * Predictions received from now on are not answered until the returned function is called: a test decides when
   * a slot frees, instead of racing a service time.
   */
  holdAnswers(): () => void {
    const { promise, resolve } = Promise.withResolvers<void>()
    this.#held = promise
    return () => {
      if (this.#held === promise) this.#held = undefined
      resolve()
    }
  }

  /** Resolves when this stub has refused `count` predictions as full, in total. */
  async refused(count: number): Promise<void> {
    while (this.refusedAt.length < count) await once(this, 'refused')
  }

  /** Resolves when this stub has received `count` readiness probes in total. */
  async probed(count: number): Promise<void> {
    while (this.probes < count) await once(this, 'probe')
  }

  /** Dies like a SIGKILLed process: every connection is cut, nothing listens any more. */
  async kill(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    this.#server.close()
    this.#server.closeAllConnections()
    await once(this.#server, 'close').catch(() => {})
  }

  /** Comes back on the same address after kill(). */
  async restart(): Promise<void> {
    const [host, port] = [new URL(this.#url).hostname, Number(new URL(this.#url).port)]
    this.#server = createServer((request, response) => void this.#handle(request, response))
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    await this.listen(host, port)
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    this.#server.closeAllConnections()
    await new Promise((resolve) => this.#server.close(resolve))
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.url === '/readyz') {
      this.probes++
      this.emit('probe')
      if (this.unansweredProbes > 0) {
        this.unansweredProbes--
        request.socket.destroy()
        return
      }
      if (this.probeDelayMs === Number.POSITIVE_INFINITY) return
      if (this.probeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.probeDelayMs))
      response.writeHead(this.ready ? 200 : 503, { 'content-type': 'application/json' })
      const models = this.models?.map((m) => ({ ...m, pretrained: false }))
      response.end(JSON.stringify({ ready: this.ready, inflight: this.inflight, queue: 0, ...(models && { models }) }))
      return
    }
    if (this.inflight >= this.maxInflight) {
      this.refusedAt.push(performance.now())
      this.emit('refused')
      const requestId = String(request.headers['x-request-id'] ?? 'none')
      response
        .writeHead(503, {
          'content-type': 'application/json',
          'x-replica-inflight': String(this.inflight),
          'retry-after': '1',
        })
        .end(JSON.stringify({ error: 'replica is full', code: 'replica_full', request_id: requestId }))
      return
    }
    // Counted from admission, as a real replica counts (its answer's X-Replica-Inflight includes itself).
    this.inflight++
    let bytes = 0
    for await (const chunk of request) bytes += (chunk as Buffer).length
    this.requests.push({ at: performance.now(), headers: request.headers, bytes })
    this.emit('request', request)
    if (this.mode === 'hang') return
    if (this.mode === 'reset') {
      this.inflight--
      request.socket.destroy()
      return
    }
    if (this.#held) await this.#held
    await new Promise((resolve) => setTimeout(resolve, this.delayMs))
    response.once('close', () => {
      this.inflight--
      this.emit('freed')
    })
    const requestId = String(request.headers['x-request-id'] ?? 'none')
    const headers = {
      'content-type': 'application/json',
      'x-replica-inflight': String(this.inflight),
      'x-replica-queue': '0',
    }
    if (this.mode === 'reject400') {
      response
        .writeHead(400, headers)
        .end(JSON.stringify({ error: 'not decodable', code: 'invalid_image', request_id: requestId }))
      return
    }
    if (this.mode === 'error500') {
      response.writeHead(500, headers).end(JSON.stringify({ error: 'boom', code: 'internal', request_id: requestId }))
      return
    }
    if (this.mode === 'busy503' || this.mode === 'shutting503') {
      const code = this.mode === 'busy503' ? 'queue_full' : 'shutting_down'
      // A full replica reports the queue that made it full, as a real one does.
      const load = this.mode === 'busy503' ? { 'x-replica-inflight': '20', 'x-replica-queue': '16' } : {}
      response
        .writeHead(503, { ...headers, ...load, 'retry-after': '1' })
        .end(JSON.stringify({ error: 'no', code, request_id: requestId }))
      return
    }
    response.writeHead(200, headers).end(JSON.stringify(stubPrediction(this.name, requestId, this.#modelFor(request))))
  }

  /** The version `?model=NAME[@VERSION]` asks for among those it advertises, as a real replica picks it. */
  #modelFor(request: IncomingMessage): { name: string; version: string } | undefined {
    const selector = new URL(request.url ?? '/', 'http://stub').searchParams.get('model')
    if (!selector || !this.models) return undefined
    const [name, version] = selector.split('@')
    return this.models.find((m) => m.name === name && (version === undefined || m.version === version))
  }
}

export function stubPrediction(
  name: string,
  requestId: string,
  model: { name: string; version: string } = { name: 'stub', version: '1' },
) {
  return {
    prediction: `${name}: 100.00%`,
    label: name,
    class_index: 1,
    confidence: 1,
    top5: [{ label: name, class_index: 1, confidence: 1 }],
    model: { ...model, pretrained: false },
    timing_ms: { queue: 0, preprocess: 1, inference: 1, total: 2 },
    batch_size: 1,
    replica: name,
    request_id: requestId,
  }
}
