import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Pool } from 'undici'
import { ConfigError } from '../../common/config.ts'
import { loadLoadConfig } from '../src/config.ts'
import { DEFAULT_PATH, parseTarget, siblingUrl } from '../src/target.ts'

/** Any http(s) URL: IPv4, IPv6 and names, with or without port, path, query and fragment. */
const httpUrls = fc.webUrl({
  withQueryParameters: true,
  withFragments: true,
  authoritySettings: { withIPv4: true, withIPv6: true, withPort: true },
})

describe('parseTarget: a base URL or the endpoint itself', () => {
  const examples: [string, { origin: string; path: string; href: string }][] = [
    ['http://h:8080', { origin: 'http://h:8080', path: '/predict', href: 'http://h:8080' }],
    ['http://h:8080/', { origin: 'http://h:8080', path: '/predict', href: 'http://h:8080' }],
    [
      'http://h:8080/add_to_queue',
      { origin: 'http://h:8080', path: '/add_to_queue', href: 'http://h:8080/add_to_queue' },
    ],
    [
      'http://h:8080/add_to_queue?model=darknet-tiny&x=1',
      {
        origin: 'http://h:8080',
        path: '/add_to_queue?model=darknet-tiny&x=1',
        href: 'http://h:8080/add_to_queue?model=darknet-tiny&x=1',
      },
    ],
    ['http://h:8080?model=x', { origin: 'http://h:8080', path: '/predict?model=x', href: 'http://h:8080/?model=x' }],
    [
      'https://h/switchyard/predict#top',
      { origin: 'https://h', path: '/switchyard/predict', href: 'https://h/switchyard/predict' },
    ],
    ['HTTP://H:80/Predict', { origin: 'http://h', path: '/Predict', href: 'http://h/Predict' }],
    ['http://h/a?', { origin: 'http://h', path: '/a', href: 'http://h/a' }],
    [
      'http://[::1]:8080/add_to_queue',
      { origin: 'http://[::1]:8080', path: '/add_to_queue', href: 'http://[::1]:8080/add_to_queue' },
    ],
    ['  http://h:8080/x  ', { origin: 'http://h:8080', path: '/x', href: 'http://h:8080/x' }],
  ]
  for (const [raw, expected] of examples) {
    test(JSON.stringify(raw), () => assert.deepEqual(parseTarget(raw), expected))
  }

  for (const raw of ['notaurl', 'localhost:8080', '127.0.0.1:8080', 'ftp://h/x', 'file:///tmp/x', '', 'http://']) {
    test(`rejects ${JSON.stringify(raw)}`, () => assert.throws(() => parseTarget(raw), /expected an http\(s\) URL/))
  }
  test('rejects credentials in the URL rather than dropping them', () => {
    assert.throws(() => parseTarget('http://user:secret@h:8080/predict'), /without user name or password/)
  })

  test('property: undici opens a pool on the origin of any http(s) URL (the UND_ERR_INVALID_ARG crash)', async () => {
    await fc.assert(
      fc.asyncProperty(httpUrls, async (raw) => {
        const pool = new Pool(parseTarget(raw).origin)
        await pool.close()
      }),
    )
  })

  test('property: origin + path is the URL as given, fragment dropped, query kept; a bare host means /predict', () => {
    fc.assert(
      fc.property(httpUrls, (raw) => {
        const given = new URL(raw)
        const target = parseTarget(raw)
        assert.equal(target.origin, given.origin)
        assert.ok(target.path.startsWith('/') && !target.path.includes('#'))
        const path = given.pathname === '/' ? DEFAULT_PATH : given.pathname
        assert.equal(target.path, `${path}${given.search}`)
        assert.equal(new URL(`${target.origin}${target.path}`).href, `${given.origin}${path}${given.search}`)
      }),
    )
  })

  test('property: reading the normalized href again gives the same target (the config keeps href)', () => {
    fc.assert(
      fc.property(httpUrls, (raw) => {
        const target = parseTarget(raw)
        assert.deepEqual(parseTarget(target.href), target)
      }),
    )
  })

  test('property: GET /replicas is on the same origin, beside the endpoint, without its query', () => {
    fc.assert(
      fc.property(httpUrls, (raw) => {
        const target = parseTarget(raw)
        const replicas = new URL(siblingUrl(target, 'replicas'))
        assert.equal(replicas.origin, target.origin)
        assert.equal(replicas.search, '')
        const endpointPath = target.path.replace(/\?.*$/, '')
        assert.equal(replicas.pathname, `${endpointPath.slice(0, endpointPath.lastIndexOf('/') + 1)}replicas`)
      }),
    )
  })

  test('property: anything that is not an http(s) URL is refused', () => {
    const notHttp = fc.oneof(
      fc.webUrl({ validSchemes: ['ftp', 'ws', 'file', 'gopher'] }),
      // The URL parser drops spaces and control characters around (tabs and newlines also inside) the scheme.
      fc.string().filter((s) => !/^https?:/i.test([...s].filter((c) => c.charCodeAt(0) > 0x20).join(''))),
    )
    fc.assert(fc.property(notHttp, (raw) => void assert.throws(() => parseTarget(raw), Error)))
  })

  test('examples of the URL GET /replicas is polled at', () => {
    const at = (raw: string) => siblingUrl(parseTarget(raw), 'replicas')
    assert.equal(at('http://h:8080'), 'http://h:8080/replicas')
    assert.equal(at('http://h:8080/add_to_queue?model=x'), 'http://h:8080/replicas')
    assert.equal(at('http://h/switchyard/predict'), 'http://h/switchyard/replicas')
    assert.equal(at('http://h//other/predict'), 'http://h//other/replicas')
  })
})

describe('load tester configuration', () => {
  const load = (argv: string[], env: Record<string, string> = {}) => loadLoadConfig({ env, argv })

  test('--target keeps the path and query; the default is the local gateway', () => {
    assert.equal(load([]).target, 'http://127.0.0.1:8080')
    assert.equal(load(['--target', 'http://h:8080/add_to_queue?x=1']).target, 'http://h:8080/add_to_queue?x=1')
    assert.equal(load(['--target', 'http://h:8080/']).target, 'http://h:8080')
  })

  const bad: [string[], Record<string, string>, string, RegExp][] = [
    [['--target', 'notaurl'], {}, 'target', /^Invalid configuration --target="notaurl": expected an http\(s\) URL/],
    [['--target', 'ftp://h'], {}, 'target', /--target/],
    [[], { LOAD_TARGET: 'h:8080' }, 'target', /^Invalid configuration LOAD_TARGET=/],
    [['--scale', '-1'], {}, 'scale', /^Invalid configuration --scale="-1": expected a number above 0/],
    [['--scale', '0'], {}, 'scale', /--scale="0"/],
    [['--scale', 'abc'], {}, 'scale', /--scale/],
    [[], { LOAD_SCALE: '0' }, 'scale', /^Invalid configuration LOAD_SCALE="0"/],
    [['--duration', 'abc'], {}, 'duration', /^Invalid configuration --duration="abc"/],
    [['--duration', '-5'], {}, 'duration', /--duration="-5"/],
    [['--timeout-ms', '0'], {}, 'timeoutMs', /--timeout-ms/],
    [['--arrival', 'steady'], {}, 'arrival', /--arrival/],
  ]
  for (const [argv, env, key, message] of bad) {
    test(`${[...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')}: one line naming ${key}`, () => {
      assert.throws(
        () => load(argv, env),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.key === key &&
          message.test(error.message) &&
          !error.message.includes('\n'),
      )
    })
  }
})
