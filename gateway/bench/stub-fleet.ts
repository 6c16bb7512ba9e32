/**
 * Benchmark stand-ins for replicas, all in one process so they cost the gateway little CPU. Each stub is either a
 * `fifo` server (one request at a time, the others wait in order: a one-core replica with a fixed service time) or
 * `parallel` (answers everything after the service time: measures the proxy, not the replica). With `maxInflight`, a
 * stub refuses a request beyond that many at once as a real replica does (MAX_INFLIGHT): 503 replica_full with
 * X-Replica-Inflight, at once, its body unread.
 * Usage (spawned with IPC): node stub-fleet.ts '[{"serviceMs":20,"mode":"fifo"}, ...]'
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

interface StubSpec {
  serviceMs: number
  mode: 'fifo' | 'parallel'
  /** Requests held at once before refusing; default: no limit. */
  maxInflight?: number
}

const specs = JSON.parse(process.argv[2] ?? '[]') as StubSpec[]
const answer = Buffer.from(
  JSON.stringify({
    prediction: 'stub: 100.00%',
    label: 'stub',
    class_index: 0,
    confidence: 1,
    top5: [{ label: 'stub', class_index: 0, confidence: 1 }],
    model: { name: 'stub', version: '1', pretrained: false },
    timing_ms: { queue: 0, preprocess: 0, inference: 0, total: 0 },
    request_id: 'stub',
  }),
)

const refusal = Buffer.from(JSON.stringify({ error: 'replica is full', code: 'replica_full', request_id: 'stub' }))

function startStub(spec: StubSpec): Promise<string> {
  const waiting: (() => void)[] = []
  let busy = false
  /** Admitted and not yet answered (bodies still arriving included), as a real replica counts. */
  let held = 0
  /** When the request in service started (performance.now() ms). */
  let servingSince = 0
  const next = () => {
    const run = waiting.shift()
    if (run) run()
    else busy = false
  }
  const respond = (request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': answer.length,
      'x-replica-inflight': String(held),
      'x-replica-queue': String(waiting.length),
    })
    response.end(answer)
    held--
    void request
  }
  const server = createServer((request, response) => {
    if (request.url === '/readyz') return response.end('{"ready":true}')
    if (held >= (spec.maxInflight ?? Number.POSITIVE_INFINITY)) {
      response.writeHead(503, {
        'content-type': 'application/json',
        'content-length': refusal.length,
        'x-replica-inflight': String(held),
        // As a real replica does: when the request in service (and those waiting) will be done.
        'x-replica-free-in-ms': String(
          Math.round(
            busy
              ? Math.max(0, servingSince + spec.serviceMs - performance.now()) + waiting.length * spec.serviceMs
              : spec.serviceMs,
          ),
        ),
        'retry-after': '1',
      })
      response.end(refusal)
      return
    }
    held++
    request.resume()
    request.on('end', () => {
      if (spec.mode === 'parallel') {
        setTimeout(() => respond(request, response), spec.serviceMs)
        return
      }
      const serve = () => {
        servingSince = performance.now()
        setTimeout(() => {
          respond(request, response)
          next()
        }, spec.serviceMs)
      }
      if (busy) waiting.push(serve)
      else {
        busy = true
        serve()
      }
    })
  })
  server.keepAliveTimeout = 60_000
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  )
}

const urls = await Promise.all(specs.map(startStub))
process.send?.({ type: 'ready', urls })
process.on('SIGTERM', () => process.exit(0))
// If the benchmark dies, so do we.
process.on('disconnect', () => process.exit(0))
