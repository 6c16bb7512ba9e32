/**
 * The floor for a Node.js proxy on this machine: node:http in, undici out, round-robin, nothing else (no queue, no
 * deadlines, no metrics, no schemas). The benchmark shows it beside the gateway so the cost of the gateway's
 * features can be told apart from the cost of the runtime.
 * Usage (spawned with IPC): node bare-node-proxy.ts '["http://127.0.0.1:1234", ...]'
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'

const pools = (JSON.parse(process.argv[2] ?? '[]') as string[]).map((url) => new Pool(url, { connections: 32 }))
let next = 0

const server = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', async () => {
    try {
      const upstream = await pools[next++ % pools.length]!.request({
        path: request.url ?? '/',
        method: 'POST',
        body: Buffer.concat(chunks),
        headers: { 'content-type': request.headers['content-type'] ?? 'application/octet-stream' },
      })
      const body = Buffer.from(await upstream.body.arrayBuffer())
      response.writeHead(upstream.statusCode, { 'content-type': 'application/json', 'content-length': body.length })
      response.end(body)
    } catch {
      response.writeHead(502).end()
    }
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () =>
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
)
process.on('SIGTERM', () => process.exit(0))
process.on('disconnect', () => process.exit(0))
