import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ConfigError, describeSpec, parse, parseConfig, setting } from '../config.ts'

const spec = {
  port: setting({
    env: 'PORT',
    flag: 'port',
    description: '',
    parse: parse.integer({ min: 0, max: 65535 }),
    default: 8080,
  }),
  workers: setting({
    env: 'WORKERS',
    flag: 'workers',
    description: '',
    parse: parse.integer({ min: 1 }),
    default: (partial: Record<string, unknown>) => Number(partial.port) % 7 || 1,
  }),
  mode: setting({ env: 'MODE', flag: 'mode', description: '', parse: parse.oneOf(['a', 'b']), default: 'a' as const }),
  fetch: setting({ env: 'FETCH', flag: 'fetch', description: '', parse: parse.boolean(), default: false }),
  urls: setting({
    env: 'URLS',
    flag: 'urls',
    description: '',
    parse: parse.list(parse.httpUrl()),
    default: [] as string[],
  }),
}

describe('parseConfig', () => {
  test('defaults, environment, then flags (flags win); computed defaults see earlier settings', () => {
    assert.deepEqual(parseConfig(spec, { env: {}, argv: [] }), {
      port: 8080,
      workers: 8080 % 7,
      mode: 'a',
      fetch: false,
      urls: [],
    })
    const config = parseConfig(spec, {
      env: { PORT: '9000', MODE: 'b', FETCH: 'yes', URLS: 'http://a:1/, http://b:2' },
      argv: ['--port', '9001'],
    })
    assert.deepEqual(config, {
      port: 9001,
      workers: 9001 % 7,
      mode: 'b',
      fetch: true,
      urls: ['http://a:1', 'http://b:2'],
    })
    assert.ok(Object.isFrozen(config))
  })

  test('an empty environment variable counts as unset', () => {
    assert.equal(parseConfig(spec, { env: { PORT: '' }, argv: [] }).port, 8080)
  })

  const bad: [Record<string, string>, string[], string, RegExp][] = [
    [{ PORT: 'eighty' }, [], 'port', /PORT="eighty".*integer between 0 and 65535/],
    [{ PORT: '70000' }, [], 'port', /PORT/],
    [{}, ['--port=-1'], 'port', /--port="-1"/],
    [{ MODE: 'c' }, [], 'mode', /MODE="c".*one of a, b/],
    [{ FETCH: 'maybe' }, [], 'fetch', /FETCH/],
    [{ URLS: 'ftp://x' }, [], 'urls', /URLS.*http/],
    [{}, ['--nope', '1'], 'argv', /nope/],
  ]
  for (const [env, argv, key, message] of bad) {
    test(`rejects ${JSON.stringify(env)} ${argv.join(' ')} naming ${key}`, () => {
      assert.throws(
        () => parseConfig(spec, { env, argv }),
        (error: unknown) => error instanceof ConfigError && error.key === key && message.test(error.message),
      )
    })
  }

  test('integers round-trip and anything that is not one is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), (n) => {
        assert.equal(parseConfig(spec, { env: { PORT: String(n) }, argv: [] }).port, n)
      }),
    )
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^\s*\d+\s*$/.test(s) && s.trim() !== ''),
        (s) => {
          assert.throws(() => parseConfig(spec, { env: { PORT: s }, argv: [] }), ConfigError)
        },
      ),
    )
  })

  test('a positional setting is taken from a bare argument or its flag, never both; other bare words are refused', () => {
    const withInput = {
      input: setting({
        env: 'INPUT',
        flag: 'input',
        description: '',
        parse: parse.string(),
        default: '',
        positional: true,
      }),
      port: spec.port,
    }
    assert.deepEqual(parseConfig(withInput, { env: {}, argv: ['model.json', '--port', '1'] }), {
      input: 'model.json',
      port: 1,
    })
    assert.equal(parseConfig(withInput, { env: {}, argv: ['--input', 'a.json'] }).input, 'a.json')
    const refused = (argv: string[], key: string, message: RegExp) =>
      assert.throws(
        () => parseConfig(withInput, { env: {}, argv }),
        (error: unknown) => error instanceof ConfigError && error.key === key && message.test(error.message),
      )
    refused(['a.json', 'b.json'], 'argv', /Unexpected argument "b.json"/)
    refused(['a.json', '--input', 'b.json'], 'input', /given twice/)
    assert.throws(
      () => parseConfig(spec, { env: {}, argv: ['a.json'] }),
      (error: unknown) => error instanceof ConfigError && error.key === 'argv',
    )
  })
})

describe('a setting under its former name', () => {
  const renamed = {
    maxInFlight: setting({
      env: 'MAX_IN_FLIGHT',
      flag: 'max-in-flight',
      description: '',
      parse: parse.integer({ min: 1 }),
      default: 4,
      formerly: { env: 'WORKERS', flag: 'workers' },
    }),
  }
  const load = (env: Record<string, string>, argv: string[] = []) => {
    const warnings: string[] = []
    const config = parseConfig(renamed, { env, argv, warn: (message) => warnings.push(message) })
    return { value: config.maxInFlight, warnings }
  }

  test('is still read, with one warning naming the new name; the new name alone warns nothing', () => {
    assert.deepEqual(load({ WORKERS: '8' }), { value: 8, warnings: ['WORKERS is deprecated: it is now MAX_IN_FLIGHT'] })
    assert.deepEqual(load({}, ['--workers', '9']), {
      value: 9,
      warnings: ['--workers is deprecated: it is now --max-in-flight'],
    })
    assert.deepEqual(load({ MAX_IN_FLIGHT: '7' }), { value: 7, warnings: [] })
    assert.deepEqual(load({}, ['--max-in-flight', '6']), { value: 6, warnings: [] })
    assert.deepEqual(load({ WORKERS: '' }), { value: 4, warnings: [] })
  })

  test('a bad value under the former name is reported under that name', () => {
    assert.throws(
      () => load({ WORKERS: 'many' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.key === 'maxInFlight' &&
        /^Invalid configuration WORKERS="many"/.test(error.message),
    )
  })

  test('given under both names, in any mix of flags and environment, is an error naming both', () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ WORKERS: '8', MAX_IN_FLIGHT: '8' }, [], /MAX_IN_FLIGHT and WORKERS are the same setting/],
      [{ WORKERS: '8' }, ['--max-in-flight', '8'], /--max-in-flight and WORKERS/],
      [{ MAX_IN_FLIGHT: '8' }, ['--workers', '8'], /MAX_IN_FLIGHT and --workers/],
      [{}, ['--workers', '8', '--max-in-flight', '8'], /--max-in-flight and --workers/],
    ]
    for (const [env, argv, message] of cases) {
      assert.throws(
        () => load(env, argv),
        (error: unknown) => error instanceof ConfigError && error.key === 'maxInFlight' && message.test(error.message),
        `${JSON.stringify(env)} ${argv.join(' ')}`,
      )
    }
  })

  test('without a warn callback, the warning is a Node DeprecationWarning', async () => {
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve))
    assert.equal(parseConfig(renamed, { env: { WORKERS: '3' }, argv: [] }).maxInFlight, 3)
    const warning = await warned
    assert.equal(warning.name, 'DeprecationWarning')
    assert.equal(warning.message, 'WORKERS is deprecated: it is now MAX_IN_FLIGHT')
  })
})

describe('describeSpec', () => {
  test('defaults are shown as one would type them: a list comma-separated, a string bare, a number as it is', () => {
    const help = describeSpec({
      precision: setting({
        env: 'P',
        flag: 'precision',
        description: 'precisions',
        parse: parse.list(parse.string()),
        default: ['fp32', 'int8'],
      }),
      mode: setting({ env: 'M', flag: 'mode', description: 'mode', parse: parse.string(), default: 'auto' }),
      port: spec.port,
    })
    assert.match(help, /precisions \[fp32,int8\]$/m)
    assert.match(help, /mode \[auto\]$/m)
    assert.match(help, / \[8080\]$/m)
  })
})
