/**
 * `node common/healthcheck-cli.ts [--path /readyz]`: the container health check of both services. Exits 0 when the
 * service on 127.0.0.1:PORT answers 200 on the path, 1 otherwise (within --timeout-ms). A script file rather than
 * `node -e "<script>"`: a health check with no spaces in its arguments survives every runtime's parsing (docker-compose
 * 1.29 through podman's Docker API splits `CMD` arguments on spaces), and it needs no shell in the image.
 */
import { configFromCommandLine } from './command-line.ts'
import { healthcheckSpec, healthcheckSummary } from './healthcheck-config.ts'

const config = configFromCommandLine('healthcheck', healthcheckSpec, undefined, healthcheckSummary)
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
