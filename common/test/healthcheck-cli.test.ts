import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePort } from '../testing/free-port.ts'
import { runEntryPoint } from '../testing/run-command.ts'

const CLI = fileURLToPath(new URL('../healthcheck-cli.ts', import.meta.url))

describe('the container health check (common/healthcheck-cli.ts)', () => {
  // /healthz alive, /readyz not ready: what a replica answers while it warms up.
  const server = createServer((request, response) => {
    response.writeHead(request.url === '/healthz' ? 200 : 503).end()
  }).listen(0, '127.0.0.1')
  after(() => server.close())
  const port = async () => {
    if (!server.listening) await once(server, 'listening')
    return String((server.address() as { port: number }).port)
  }

  test('exit 0 when the path answers 200', async () => {
    const result = await runEntryPoint(CLI, ['--port', await port()])
    assert.equal(result.code, 0, result.stderr)
  })

  test('exit 1 when it answers otherwise, saying what it got', async () => {
    const result = await runEntryPoint(CLI, ['--port', await port(), '--path', '/readyz'])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /\/readyz: 503/)
  })

  test('exit 1 when nothing listens', async () => {
    const result = await runEntryPoint(CLI, ['--port', String(await freePort())])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /fetch failed/)
  })

  test('a path other than /healthz or /readyz is refused (exit 2) before any request', async () => {
    const result = await runEntryPoint(CLI, ['--port', await port(), '--path', '/metrics'])
    assert.equal(result.code, 2)
  })
})
