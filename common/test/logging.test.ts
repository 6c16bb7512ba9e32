import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { createLogger, type LoggerOptions, relayedLineFormatter, resolveLogFormat } from '../logging.ts'

const TIME = String.raw`\d{2}:\d{2}:\d{2}\.\d{3}`

/** A logger writing into an array, and the text it wrote (colours stripped). */
function capture(options: Omit<LoggerOptions, 'destination' | 'level'> & { level?: string }) {
  const chunks: string[] = []
  const logger = createLogger({ level: 'info', ...options, destination: { write: (s: string) => chunks.push(s) } })
  return { logger, text: () => stripVTControlCharacters(chunks.join('')), raw: () => chunks.join('') }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

describe('createLogger', () => {
  test('pretty: one readable line with time, level, service, message, request_id and the fields; not JSON', () => {
    const { logger, text } = capture({ service: 'gateway', format: 'pretty', isTTY: false })
    logger.info(
      { request_id: 'req-1', method: 'POST', url: '/predict', status: 200, duration_ms: 1.5 },
      'request completed',
    )
    const out = text()
    assert.match(
      out,
      new RegExp(
        `^${TIME} INFO  gateway: request completed request_id=req-1 method=POST url=/predict status=200 duration_ms=1.5\n$`,
      ),
    )
    assert.equal(isJson(out), false)
  })

  test('pretty: a replica shows its id; child-logger fields, objects and errors are kept', () => {
    const { logger, text } = capture({
      service: 'replica',
      format: 'pretty',
      isTTY: false,
      level: 'debug',
      base: { replica: 'local-0' },
    })
    logger.child({ request_id: 'req-2' }).debug({ timing_ms: { inference: 4 } }, 'predicted')
    logger.error({ err: new Error('boom') }, 'inference failed')
    const out = text()
    assert.match(out, new RegExp(`^${TIME} DEBUG replica/local-0: predicted request_id=req-2\n {4}timing_ms: \\{`))
    assert.match(out, /"inference": 4/)
    assert.match(out, new RegExp(`\n${TIME} ERROR replica/local-0: inference failed\n {4}err: \\{`))
    assert.match(out, /Error: boom\n\s+at /)
  })

  test('pretty: control characters from messages and fields reach the terminal escaped', () => {
    const { logger, raw } = capture({ service: 'gateway', format: 'pretty', isTTY: false })
    logger.warn({ reason: 'a\u001b[2Jb c', other: '\u009b6n' }, 'bad\u001b[31m\nline')
    const out = raw()
    assert.equal(out.includes('\u001b') || out.includes('\u009b'), false, out)
    assert.match(out, /WARN {2}gateway: bad\\u001b\[31m\\u000aline reason="a\\u001b\[2Jb c" other="\\u009b6n"\n$/)
  })

  test('pretty: colours only when asked for or on a colour terminal', () => {
    const plain = capture({ service: 'gateway', format: 'pretty', isTTY: false })
    plain.logger.info('hello')
    assert.equal(plain.raw(), plain.text())
    const coloured = capture({ service: 'gateway', format: 'pretty', isTTY: false, colorize: true })
    coloured.logger.info('hello')
    assert.notEqual(coloured.raw(), coloured.text())
    assert.match(coloured.text(), new RegExp(`^${TIME} INFO  gateway: hello\n$`))
  })

  test('json: pino JSON lines with service and fields, even on a terminal', () => {
    const { logger, text } = capture({ service: 'replica', format: 'json', isTTY: true, base: { replica: 'local-1' } })
    logger.info({ request_id: 'req-3' }, 'request completed')
    const line = JSON.parse(text())
    assert.deepEqual(
      { level: line.level, service: line.service, replica: line.replica, request_id: line.request_id, msg: line.msg },
      { level: 30, service: 'replica', replica: 'local-1', request_id: 'req-3', msg: 'request completed' },
    )
    assert.equal(typeof line.time, 'number')
  })

  test('auto: pretty on a terminal, JSON otherwise', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty')
    assert.equal(resolveLogFormat('auto', false), 'json')
    assert.equal(resolveLogFormat('auto', undefined), 'json')
    assert.equal(resolveLogFormat('json', true), 'json')
    assert.equal(resolveLogFormat('pretty', false), 'pretty')
    const tty = capture({ service: 'gateway', format: 'auto', isTTY: true })
    tty.logger.info({ request_id: 'r' }, 'hi')
    assert.match(tty.text(), new RegExp(`^${TIME} INFO  gateway: hi request_id=r\n$`))
    const piped = capture({ service: 'gateway', format: 'auto', isTTY: undefined })
    piped.logger.info({ request_id: 'r' }, 'hi')
    assert.equal(JSON.parse(piped.text()).request_id, 'r')
  })
})

describe('relayedLineFormatter', () => {
  const replicaLine = () => {
    const { logger, text } = capture({ service: 'replica', format: 'json', isTTY: false, base: { replica: 'local-2' } })
    logger.info({ request_id: 'req-4', model: 'resnet18' }, 'request completed')
    return text().trimEnd()
  }

  test('pretty: a replica JSON line is rendered like our own lines', () => {
    const format = relayedLineFormatter({ format: 'pretty', isTTY: false })
    const out = format(replicaLine())
    assert.match(
      out,
      new RegExp(`^${TIME} INFO  replica/local-2: request completed request_id=req-4 model=resnet18\n$`),
    )
  })

  test('lines that are not pino JSON pass through unchanged', () => {
    for (const output of [
      { format: 'pretty', isTTY: false },
      { format: 'auto', isTTY: true },
      { format: 'json', isTTY: true },
    ] as const) {
      const format = relayedLineFormatter(output)
      for (const line of ['(node:123) Warning: something odd', '{"not":"a log line"}', '{broken json', '42', ''])
        assert.equal(format(line), `${line}\n`)
    }
  })

  test('json: JSON lines pass through unchanged', () => {
    const line = replicaLine()
    assert.equal(relayedLineFormatter({ format: 'auto', isTTY: false })(line), `${line}\n`)
    assert.equal(relayedLineFormatter({ format: 'json', isTTY: true })(line), `${line}\n`)
  })
})

describe('the gateway entry point', () => {
  const main = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url))

  /** Starts the real gateway (static discovery, a replica nobody listens on) and collects its first stdout lines. */
  async function firstLines(args: string[], env: Record<string, string | undefined>, count: number) {
    const child = spawn(
      process.execPath,
      [
        main,
        '--discovery',
        'static',
        '--replicas',
        'http://127.0.0.1:9',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--autoscaler',
        'none',
        ...args,
      ],
      { env: { ...process.env, LOG_FORMAT: undefined, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const exited = once(child, 'exit')
    try {
      const lines: string[] = []
      for await (const line of createInterface({ input: child.stdout })) {
        lines.push(line)
        if (lines.length === count) break
      }
      return lines
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  }

  test('--log-format pretty: its first lines are readable', async () => {
    const lines = await firstLines(['--log-format', 'pretty'], {}, 2)
    assert.equal(lines.length, 2)
    for (const line of lines) {
      assert.match(line, new RegExp(`^${TIME} INFO  gateway: `))
      assert.equal(isJson(line), false)
    }
    assert.ok(lines.some((line) => /gateway listening url=http:\/\/127\.0\.0\.1:\d+ discovery=static/.test(line)))
  })

  test('piped stdout (auto) or LOG_FORMAT=json: JSON lines', async () => {
    for (const env of [{}, { LOG_FORMAT: 'json' }]) {
      const lines = await firstLines([], env, 2)
      assert.equal(lines.length, 2)
      for (const line of lines) assert.equal(JSON.parse(line).service, 'gateway')
    }
  })
})

describe('JSON lines to a pipe (batched)', () => {
  const logging = new URL('../logging.ts', import.meta.url).href

  /** Runs a script that logs with the default destination (stdout, a pipe: JSON, batched); its stdout lines, exit code. */
  async function run(body: string) {
    const script = `import { createLogger } from ${JSON.stringify(logging)}
const logger = createLogger({ service: 'test', level: 'info', format: 'auto', isTTY: false })
${body}`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const exited = once(child, 'exit')
    const lines: string[] = []
    for await (const line of createInterface({ input: child.stdout })) lines.push(line)
    const [code] = await exited
    return { lines, code }
  }

  const numbered = (lines: string[]) => lines.map((line) => (JSON.parse(line) as { n: number }).n)
  const upTo = (count: number) => Array.from({ length: count }, (_, n) => n)

  test('every line logged just before process.exit is written, whole and in order', async () => {
    const { lines, code } = await run('for (let n = 0; n < 2000; n++) logger.info({ n }, "line")\nprocess.exit(3)')
    assert.equal(code, 3)
    assert.deepEqual(numbered(lines), upTo(2000))
  })

  test('the lines before an uncaught error are written too', async () => {
    const { lines, code } = await run(
      'for (let n = 0; n < 50; n++) logger.info({ n }, "line")\nthrow new Error("boom")',
    )
    assert.equal(code, 1)
    assert.deepEqual(numbered(lines), upTo(50))
  })

  test('a process whose stdout reader is gone still exits (its lines are dropped, not retried for ever)', async (t) => {
    // The parent reads one line, then closes its end, as a gateway that dies leaves its replicas' stdout.
    const script = `import { createLogger } from ${JSON.stringify(logging)}
const logger = createLogger({ service: 'test', level: 'info', format: 'json', isTTY: false })
logger.info({ n: 0 }, 'line')
process.stdin.once('data', () => {
  // Fewer bytes than a batch: the first write to the closed pipe is the flush on the way out.
  logger.info({ n: 1 }, 'line after the reader left')
  process.exit(4)
})`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    const exited = once(child, 'exit')
    try {
      await once(createInterface({ input: child.stdout }), 'line', { signal: t.signal })
      child.stdout.destroy()
      child.stdin.write('go\n')
      const [code] = (await once(child, 'exit', { signal: t.signal })) as [number]
      assert.equal(code, 4)
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  })

  test('a line is written soon while the process goes on (it does not wait for more lines or the exit)', async (t) => {
    const script = `import { createLogger } from ${JSON.stringify(logging)}
const logger = createLogger({ service: 'test', level: 'info', format: 'json', isTTY: false })
logger.info({ n: 0 }, 'line')
setInterval(() => {}, 60_000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const exited = once(child, 'exit')
    try {
      const lines = createInterface({ input: child.stdout })
      // (the test's signal ends the wait if the line never comes, so the child is still killed)
      const [first] = (await once(lines, 'line', { signal: t.signal })) as [string]
      assert.equal((JSON.parse(first) as { n: number }).n, 0)
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  })
})
