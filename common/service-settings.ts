import { parse, setting } from './config.ts'

/**
 * The settings every Switchyard HTTP service has, spelled the same way: where it listens, its log level and format,
 * how big and how slow a request may be, and how long SIGTERM waits (`shutdownMeaning` says what it waits for).
 */
export function serviceSettings(defaultPort: number, shutdownMeaning: string) {
  return {
    host: setting({
      env: 'HOST',
      flag: 'host',
      description:
        'Interface to listen on: this machine only by default; 0.0.0.0 (every interface) is what the container image, compose and the Kubernetes manifests set',
      parse: parse.string(),
      default: '127.0.0.1',
    }),
    port: setting({
      env: 'PORT',
      flag: 'port',
      description: 'Port to listen on (0 = any free port)',
      parse: parse.integer({ min: 0, max: 65535 }),
      default: defaultPort,
    }),
    logLevel: setting({
      env: 'LOG_LEVEL',
      flag: 'log-level',
      description: 'pino log level',
      parse: parse.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
      default: 'info',
    }),
    logFormat: setting({
      env: 'LOG_FORMAT',
      flag: 'log-format',
      description: 'Log lines: json, pretty (readable, for people) or auto (pretty when stdout is a terminal)',
      parse: parse.oneOf(['auto', 'pretty', 'json']),
      default: 'auto' as const,
    }),
    maxBodyBytes: setting({
      env: 'MAX_BODY_BYTES',
      flag: 'max-body-bytes',
      description: 'Largest accepted request body',
      parse: parse.integer({ min: 1024 }),
      default: 10 * 1024 * 1024,
    }),
    bodyTimeoutMs: setting({
      env: 'BODY_TIMEOUT_MS',
      flag: 'body-timeout-ms',
      description: 'Time allowed to receive a whole request',
      parse: parse.integer({ min: 100 }),
      default: 30_000,
    }),
    shutdownTimeoutMs: setting({
      env: 'SHUTDOWN_TIMEOUT_MS',
      flag: 'shutdown-timeout-ms',
      description: `On SIGTERM, how long ${shutdownMeaning}`,
      parse: parse.integer({ min: 0 }),
      default: 25_000,
    }),
  }
}
