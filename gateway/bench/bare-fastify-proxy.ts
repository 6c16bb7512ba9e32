/**
 * The floor for a Fastify proxy: the bare Node proxy's work (body read whole, undici out, round-robin, the answer
 * passed on as bytes) inside Fastify with nothing else — no hooks, schemas, logging, queue or metrics. Beside the bare
 * Node proxy and the gateway it tells the framework's cost from the gateway's own.
 * Usage (spawned with IPC): node bare-fastify-proxy.ts '["http://127.0.0.1:1234", ...]'
 */
import Fastify from 'fastify'
import { Pool } from 'undici'

const pools = (JSON.parse(process.argv[2] ?? '[]') as string[]).map((url) => new Pool(url, { connections: 32 }))
let next = 0

const app = Fastify({ bodyLimit: 20 * 1024 * 1024, keepAliveTimeout: 60_000 })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
app.post('/predict', async (request, reply) => {
  const upstream = await pools[next++ % pools.length]!.request({
    path: '/predict',
    method: 'POST',
    body: request.body as Buffer,
    headers: { 'content-type': request.headers['content-type'] ?? 'application/octet-stream' },
  })
  const body = Buffer.from(await upstream.body.arrayBuffer())
  return reply.code(upstream.statusCode).type('application/json').send(body)
})
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.send?.({ type: 'ready', url })
process.on('SIGTERM', () => process.exit(0))
process.on('disconnect', () => process.exit(0))
