/** The settings of `npm run healthcheck` (and its --help summary), importable without running the command. */
import { parse, setting } from './config.ts'

export const healthcheckSummary = 'Container health check: exit 0 if http://127.0.0.1:PORT<path> answers 200, else 1.'

export const healthcheckSpec = {
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
