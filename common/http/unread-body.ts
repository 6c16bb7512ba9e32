import type { IncomingMessage, Server } from 'node:http'
import type { FastifyInstance } from 'fastify'

/**
 * A route may answer before it has read the whole body: a multipart refusal at its second file, say. What is left of
 * that body still sits on the keep-alive connection, and unread it stalls the connection's next request until the body
 * timeout (Node discards a body nobody started reading, not one read in part). After the answer, the rest is read and
 * discarded, so the connection serves its next request; when more than `maxBytes` would have to be discarded, the
 * connection is closed instead.
 */
export function installUnreadBodyDrain(app: FastifyInstance, maxBytes: number): void {
  app.addHook('onResponse', (request, _reply, done) => {
    done()
    discardRestOfBody(request.raw, app.server, maxBytes)
  })
}

export function discardRestOfBody(message: IncomingMessage, server: Server, maxBytes: number): void {
  if (message.complete || message.destroyed) return
  // Whoever was reading (a multipart parser given up at a bad part) stops; nothing more is parsed or buffered.
  message.unpipe()
  message.removeAllListeners('data')
  let discarded = 0
  message.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > maxBytes) message.socket.destroy()
  })
  // A server that began closing meanwhile closed the connections idle then, not this busy one: close it now it is
  // idle too, or it would hold the drain until its keep-alive timeout.
  message.once('end', () => {
    if (!server.listening) setImmediate(() => server.closeIdleConnections())
  })
  message.resume()
}
