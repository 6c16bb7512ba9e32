/** A trivial prediction endpoint for the load tester benchmark: reads the body, answers a small JSON at once. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const answer = Buffer.from('{"prediction":"stub: 100.00%","label":"stub","queue_size":0}')
const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length }).end(answer)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () =>
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
)
process.on('disconnect', () => process.exit(0))
