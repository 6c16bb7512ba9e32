import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import { reachableListenUrl } from './listen-url.ts'

export interface MetricsListener {
  port: number
  /** Where a local client reaches it, e.g. http://127.0.0.1:9464 */
  url: string
  close(): Promise<void>
}

/**
 * `GET /metrics` alone on its own port (METRICS_PORT), without a token: what keeps it private is who can reach the
 * port (Prometheus only, by NetworkPolicy or firewall), so scrapers need no secret. Anything else there is a 404.
 */
export async function listenForMetrics(registry: Registry, host: string, port: number): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' })
      response.end(
        JSON.stringify({
          error: 'only GET /metrics is served on this port',
          code: 'not_found',
          request_id: randomUUID(),
        }),
      )
      return
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      () => {
        response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
        response.end(JSON.stringify({ error: 'metrics failed', code: 'internal', request_id: randomUUID() }))
      },
    )
  })
  server.listen(port, host)
  await once(server, 'listening')
  const bound = (server.address() as AddressInfo).port
  return {
    port: bound,
    url: reachableListenUrl(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
