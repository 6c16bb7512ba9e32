import pino, { type DestinationStream, type Logger } from 'pino'
import { isColorSupported, prettyFactory } from 'pino-pretty'
import { batchedStdout, directStdout, type LogStream } from './log-stream.ts'

/**
 * The logger of every Switchyard entry point. Lines are pino JSON (what log collectors want) unless the format says
 * pretty, or says auto and stdout is a terminal: then each line is rendered for people, e.g.
 *
 *     14:02:07.481 INFO  gateway: request completed request_id=8f3c… method=POST url=/predict status=200
 *     14:02:07.479 INFO  replica/local-0: request completed request_id=8f3c… model=resnet18 status=200
 *
 * (time, level, service and replica id, message, then the scalar fields as key=value; objects and errors with
 * their stack follow on indented lines). Rendering is synchronous; JSON lines are written in batches (see
 * log-stream.ts), flushed when the process exits, so nothing is lost then either.
 */

/** The `logFormat` setting (LOG_FORMAT, --log-format; see service-settings.ts). */
export type LogFormat = 'auto' | 'pretty' | 'json'

export interface LogOutput {
  format: LogFormat
  /** Whether stdout is a terminal (the entry point passes `process.stdout.isTTY`). */
  isTTY: boolean | undefined
  /** Colours in pretty output; by default when stdout is a colour-capable terminal (NO_COLOR turns them off). */
  colorize?: boolean
}

export interface LoggerOptions extends LogOutput {
  service: string
  level: string
  /** Fields on every line besides `service`, e.g. `{replica: 'local-0'}`. */
  base?: Record<string, unknown>
  /** Where lines go (tests); stdout by default. */
  destination?: DestinationStream
}

export function resolveLogFormat(format: LogFormat, isTTY: boolean | undefined): 'pretty' | 'json' {
  return format === 'auto' ? (isTTY === true ? 'pretty' : 'json') : format
}

/**
 * Standard output for a service's lines: JSON lines (a log collector reading a pipe or file) in batches, pretty lines
 * (people at a terminal) one by one. An entry point that prints other lines too (relayed ones) writes them here, so
 * they keep their order among its own.
 */
export function stdoutFor(output: LogOutput): LogStream {
  return resolveLogFormat(output.format, output.isTTY) === 'json' ? batchedStdout() : directStdout()
}

export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = { level: options.level, base: { service: options.service, ...options.base } }
  const destination = options.destination ?? stdoutFor(options)
  if (resolveLogFormat(options.format, options.isTTY) === 'json') return pino(pinoOptions, destination)
  const render = prettyRenderer(colorizeFor(options))
  return pino(pinoOptions, { write: (line: string) => destination.write(render(line)) })
}

/**
 * How the lines a child process prints (local replicas log JSON into a pipe) are shown among our own: rendered the
 * same way when our output is pretty, unchanged otherwise. Lines that are not pino JSON always pass through as they
 * are. The returned text ends in a newline.
 */
export function relayedLineFormatter(output: LogOutput): (line: string) => string {
  if (resolveLogFormat(output.format, output.isTTY) === 'json') return (line) => `${line}\n`
  const render = prettyRenderer(colorizeFor(output))
  return (line) => render(line)
}

function colorizeFor(output: LogOutput): boolean {
  return output.colorize ?? (output.isTTY === true && isColorSupported)
}

const WHO = Symbol('who')
const FIELDS = Symbol('fields')
type Prepared = Record<string, unknown> & { [WHO]: string; [FIELDS]: string }

/** pino JSON line → one readable line (plus indented lines for objects and errors), ending in a newline. */
function prettyRenderer(colorize: boolean): (line: string) => string {
  const pretty = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: '',
    // (with the default `true` and no custom levels, pino-pretty hands the level prettifier no label)
    useOnlyCustomProps: false,
    customPrettifiers: {
      time: (time) => String(time),
      level: (_level, _key, log, { label, labelColorized, colors }) =>
        `${labelColorized}${' '.repeat(Math.max(0, 5 - label.length))} ${colors.magenta((log as Prepared)[WHO])}`,
    },
    messageFormat: (log, messageKey, _levelLabel, { colors }) => {
      const message = typeof log[messageKey] === 'string' ? safeText(log[messageKey] as string) : ''
      const fields = (log as Prepared)[FIELDS]
      return fields === '' ? message : `${message} ${colors.gray(fields)}`
    },
  })
  return (line) => {
    const log = parseLogLine(line.trimEnd())
    return log === undefined ? `${line.replace(/\n$/, '')}\n` : pretty(prepare(log))
  }
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(line)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    const log = value as Record<string, unknown>
    return typeof log.level === 'number' && log.time !== undefined ? log : undefined
  } catch {
    return undefined
  }
}

/** Splits a log record into what the line shows up front (who, scalar fields) and what follows indented. */
function prepare(log: Record<string, unknown>): Prepared {
  const { time, level, msg, pid: _pid, hostname: _hostname, service, ...rest } = log
  let who = typeof service === 'string' ? safeText(service) : '-'
  // A replica's own lines carry its id; on the gateway's lines `replica` is a field like any other.
  if (service === 'replica' && typeof rest.replica === 'string') {
    who = `${who}/${safeText(rest.replica)}`
    delete rest.replica
  }
  const fields: string[] = []
  const nested: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(rest)) {
    if (value !== null && typeof value === 'object') nested[key] = value
    else if (value !== undefined) fields.push(`${safeText(key)}=${formatValue(value)}`)
  }
  return { time, level, msg, ...nested, [WHO]: who, [FIELDS]: fields.join(' ') }
}

function formatValue(value: unknown): string {
  if (typeof value !== 'string') return String(value)
  return /^[\w.:/@+%=?&,~-]+$/.test(value) ? value : JSON.stringify(value).replace(/[\u0080-\u009f]/g, escapeChar)
}

/** Text from a log line, with control characters (which could drive the terminal) shown escaped. */
function safeText(text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? escapeChar(char) : char
  }
  return out
}

function escapeChar(char: string): string {
  return `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`
}
