import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'

/** When to probe a half-closed connection, ms after its FIN: at once, then soon, then every second. */
const PROBE_DELAYS_MS = [0, 10, 100, 1000]

/**
 * A client may half-close its connection once it has sent its request (shut its sending side) and still read the
 * answer; a client that gives up closes the same way, and TCP shows both as the same FIN. Node takes every FIN as
 * the client leaving (no answer, the request aborted); here the connection stays open and is probed instead: an
 * interim `100 Continue`, which HTTP/1.1 clients skip, is written at once and again after 10 ms, 100 ms and every
 * second until the answer. A client that left answers the first probe with a reset, a later write fails and the
 * connection closes, so its work is dropped as before (within about 10 ms on a local network); a client that only
 * half-closed gets its answer.
 */
export function answerHalfClosedClients(app: FastifyInstance): void {
  // Node's switch for exactly this (not in its typings): on a FIN, finish the response in flight, then close.
  ;(app.server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true
  app.addHook('onRequest', (request, reply, done) => {
    done()
    const socket = request.raw.socket
    // HTTP/1.0 has no interim answers to probe with: its FIN means gone, as Node has it.
    const onEnd = request.raw.httpVersion === '1.0' ? () => socket.destroy() : () => probeUntilAnswered(reply.raw)
    if (socket.readableEnded) {
      onEnd()
      return
    }
    socket.once('end', onEnd)
    reply.raw.once('close', () => socket.off('end', onEnd))
  })
}

function probeUntilAnswered(response: ServerResponse): void {
  let timer: NodeJS.Timeout | undefined
  let probes = 0
  const probe = () => {
    // Once the answer has started, it is the probe.
    if (response.headersSent || response.destroyed) return
    response.writeContinue()
    probes++
    timer = setTimeout(probe, PROBE_DELAYS_MS[Math.min(probes, PROBE_DELAYS_MS.length - 1)])
  }
  response.once('close', () => clearTimeout(timer))
  probe()
}
