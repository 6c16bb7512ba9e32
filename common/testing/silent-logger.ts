import pino from 'pino'

/** A logger for tests: silent unless LOG_LEVEL is set when running them. */
export function testLogger(name: string) {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent', base: { service: name } })
}
