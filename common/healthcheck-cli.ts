/**
 * `node common/healthcheck-cli.ts [--path /readyz]`: the container health check of both services. Exits 0 when the
 * service on 127.0.0.1:PORT answers 200 on the path, 1 otherwise (within --timeout-ms). A script file rather than
 * `node -e "<script>"`: a health check with no spaces in its arguments survives every runtime's parsing (docker-compose
 * 1.29 through podman's Docker API splits `CMD` arguments on spaces), and it needs no shell in the image.
 */
import { configFromCommandLine } from './command-line.ts'
import { parse, setting } from './config.ts'

const spec = {
  port: setting({
    env: 'PORT',
    flag: 'port',
    description: 'Port of the service to check (the service reads the same PORT)',
    parse: parse.integer({ min: 1, max: 65535 }),
    default: 8080,
  }),
  path: setting({
    env: 'HEALTHCHECK_PATH',
    flag: 'path',
    description: 'Path that must answer 200: /healthz (alive) or /readyz (ready for traffic)',
    parse: parse.oneOf(['/healthz', '/readyz']),
    default: '/healthz',
  }),
  timeoutMs: setting({
    env: 'HEALTHCHECK_TIMEOUT_MS',
    flag: 'timeout-ms',
    description: 'Give up (unhealthy) after this long',
    parse: parse.integer({ min: 1, max: 60_000 }),
    default: 2000,
  }),
}

const config = configFromCommandLine(
  'healthcheck',
  spec,
  undefined,
  'Container health check: exit 0 if http://127.0.0.1:PORT<path> answers 200, else 1.',
)
const url = `http://127.0.0.1:${config.port}${config.path}`
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(config.timeoutMs) })
  await response.body?.cancel()
  if (!response.ok) console.error(`${url}: ${response.status}`)
  process.exitCode = response.ok ? 0 : 1
} catch (error) {
  console.error(`${url}: ${(error as Error).message}`)
  process.exitCode = 1
}
