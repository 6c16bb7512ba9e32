import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { describe, mock, test } from 'node:test'
import fc from 'fast-check'
import { loadGatewayConfig } from '../../gateway/src/config.ts'
import { loadReplicaConfig } from '../../replica/src/config.ts'
import { isLoopback, openAccessWarning } from '../auth/open-warning.ts'
import { decideAccess, type RequiredRole, ROLES, type Role, roleAllows } from '../auth/roles.ts'
import { bearerToken, TokenSet } from '../auth/token-set.ts'
import { tokenSetFromText } from '../auth/token-store.ts'
import { MIN_TOKEN_LENGTH, parseTokensFile } from '../auth/tokens-file.ts'
import { serviceSettings } from '../service-settings.ts'

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/=!$%'.split('')
const tokenArb = fc
  .array(fc.constantFrom(...TOKEN_CHARS), { minLength: MIN_TOKEN_LENGTH, maxLength: 80 })
  .map((chars) => chars.join(''))
const nameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,20}$/)
const roleArb = fc.constantFrom(...ROLES)
const blankArb = fc.constantFrom(' ', '\t', '  ', ' \t')

describe('tokens file parser (property tests)', () => {
  test('a file written from entries parses back to them, whatever the spacing, comments, blank lines and line ends', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ role: roleArb, token: tokenArb, name: fc.option(nameArb, { nil: undefined }) }), {
          selector: (e) => e.token,
          maxLength: 8,
        }),
        fc.array(fc.constantFrom('', '# a comment', '   ', '#admin notatoken0123456789'), { maxLength: 4 }),
        blankArb,
        fc.constantFrom('\n', '\r\n'),
        (entries, filler, gap, eol) => {
          // Names must be unique too: drop repeated ones (the default names are hashes, unique per token).
          const seen = new Set<string>()
          const unique = entries.filter((e) => e.name === undefined || (!seen.has(e.name) && seen.add(e.name)))
          const lines = unique.map((e) => [e.role, e.token, e.name].filter((f) => f !== undefined).join(gap))
          const text = [...filler, ...lines.flatMap((line, i) => [` ${line}${gap}`, filler[i] ?? ''])].join(eol)
          const parsed = parseTokensFile(text)
          assert.deepEqual(parsed.errors, [])
          assert.deepEqual(
            parsed.entries.map((e) => ({ role: e.role, token: e.token })),
            unique.map((e) => ({ role: e.role, token: e.token })),
          )
          unique.forEach((e, i) => {
            if (e.name !== undefined) assert.equal(parsed.entries[i]!.name, e.name)
            else assert.match(parsed.entries[i]!.name, /^token-[0-9a-f]{8}$/)
          })
        },
      ),
    )
  })

  test('any text: never throws; every meaningful line is an entry or an error; an error never repeats the line', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 60 }),
            fc
              .tuple(fc.constantFrom('admin', 'batch', 'predict', 'root', 'Admin'), fc.string({ maxLength: 40 }))
              .map(([role, rest]) => `${role} ${rest}`),
          ),
          { maxLength: 12 },
        ),
        (lines) => {
          const text = lines.join('\n')
          const parsed = parseTokensFile(text)
          const meaningful = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
          assert.equal(parsed.entries.length + parsed.errors.length, meaningful.length)
          for (const entry of parsed.entries) {
            assert.ok(ROLES.includes(entry.role))
            assert.ok(entry.token.length >= MIN_TOKEN_LENGTH)
            assert.ok(!/\s/.test(entry.token))
          }
          assert.equal(new Set(parsed.entries.map((e) => e.token)).size, parsed.entries.length, 'no token twice')
          for (const error of parsed.errors) {
            const line = text.split(/\r?\n/)[error.line - 1]!.trim()
            if (line.length >= 8) assert.ok(!error.message.includes(line), 'a secret is never echoed into logs')
          }
        },
      ),
    )
  })

  test('refused: unknown roles, short tokens, extra fields, duplicates; an empty file is no tokens file', () => {
    const token = 'x'.repeat(MIN_TOKEN_LENGTH)
    const { entries, errors } = parseTokensFile(
      [
        `root ${token}`,
        'admin',
        `admin ${'y'.repeat(MIN_TOKEN_LENGTH - 1)}`,
        `admin ${token} ops extra`,
        `admin ${token} ops`,
        `batch ${token} again`,
        `batch ${'z'.repeat(MIN_TOKEN_LENGTH)} ops`,
        `predict ${'w'.repeat(MIN_TOKEN_LENGTH)} bad/name`,
      ].join('\n'),
    )
    assert.deepEqual(
      entries.map((e) => e.name),
      ['ops'],
    )
    assert.deepEqual(
      errors.map((e) => e.line),
      [1, 2, 3, 4, 6, 7, 8],
    )
    assert.throws(() => tokenSetFromText('# nothing\n\n'), /no token/)
    assert.throws(() => tokenSetFromText(`admin short`), /refused line\(s\): 1/)
  })
})

describe('token set', () => {
  const set = new TokenSet(
    parseTokensFile('admin aaaaaaaaaaaaaaaa0 ops\nbatch bbbbbbbbbbbbbbbb1 ci\npredict cccccccccccccccc2').entries,
  )

  test('finds the holder of a listed token, nobody for anything else (prefixes, extensions, case)', () => {
    assert.deepEqual(set.lookup('aaaaaaaaaaaaaaaa0'), { role: 'admin', name: 'ops' })
    assert.deepEqual(set.lookup('bbbbbbbbbbbbbbbb1'), { role: 'batch', name: 'ci' })
    assert.equal(set.lookup('cccccccccccccccc2')?.role, 'predict')
    for (const wrong of ['', 'aaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaa00', 'AAAAAAAAAAAAAAAA0', 'x'.repeat(10_000)])
      assert.equal(set.lookup(wrong), undefined, wrong.slice(0, 20))
  })

  test('compares in constant time: crypto.timingSafeEqual on equal-length SHA-256 digests, against every token, match or not', () => {
    const spy = mock.method(crypto, 'timingSafeEqual')
    syncBuiltinESMExports()
    try {
      set.lookup('aaaaaaaaaaaaaaaa0')
      set.lookup('nope')
      assert.equal(spy.mock.callCount(), 2 * set.size, 'no early exit on a match')
      for (const call of spy.mock.calls) {
        const [a, b] = call.arguments as [Buffer, Buffer]
        assert.equal(a.length, 32)
        assert.equal(b.length, 32)
      }
    } finally {
      spy.mock.restore()
      syncBuiltinESMExports()
    }
  })

  test('Authorization: Bearer <token> only', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc')
    assert.equal(bearerToken('bearer  abc '), 'abc')
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearerabc', ['Bearer abc']])
      assert.equal(bearerToken(header), undefined, String(header))
  })
})

describe('the access decision', () => {
  const presentedArb = fc.constantFrom<Role | null | undefined>('admin', 'batch', 'predict', null, undefined)
  const requiredArb = fc.constantFrom<RequiredRole | undefined>('admin', 'batch', 'predict', 'open', undefined)

  test('table: 401 without a valid token, 403 with too low a role; nothing enforced without tokens', () => {
    const q = { enforced: true, predictNeedsToken: false }
    assert.equal(decideAccess({ ...q, required: 'admin', presented: undefined }), 'unauthorized')
    assert.equal(decideAccess({ ...q, required: 'admin', presented: null }), 'unauthorized')
    assert.equal(decideAccess({ ...q, required: 'admin', presented: 'batch' }), 'forbidden')
    assert.equal(decideAccess({ ...q, required: undefined, presented: 'batch' }), 'forbidden', 'undeclared = admin')
    assert.equal(decideAccess({ ...q, required: 'batch', presented: 'batch' }), 'allow')
    assert.equal(decideAccess({ ...q, required: 'predict', presented: undefined }), 'allow', 'predictions open')
    assert.equal(
      decideAccess({ ...q, predictNeedsToken: true, required: 'predict', presented: undefined }),
      'unauthorized',
    )
    assert.equal(decideAccess({ ...q, required: 'open', presented: null }), 'allow')
    assert.equal(
      decideAccess({ enforced: false, predictNeedsToken: true, required: 'admin', presented: null }),
      'allow',
    )
  })

  test('properties: admin may do anything; a higher role never gets less; a decision is never forbidden without a role', () => {
    fc.assert(
      fc.property(requiredArb, presentedArb, fc.boolean(), fc.boolean(), (required, presented, enforced, predict) => {
        const decide = (role: Role | null | undefined) =>
          decideAccess({ required, presented: role, enforced, predictNeedsToken: predict })
        const decision = decide(presented)
        assert.equal(decide('admin'), 'allow')
        if (typeof presented === 'string')
          for (const higher of ROLES.filter((r) => roleAllows(r, presented)))
            if (decision === 'allow') assert.equal(decide(higher), 'allow')
        if (typeof presented !== 'string') assert.notEqual(decision, 'forbidden')
        if (!enforced || required === 'open') assert.equal(decision, 'allow')
      }),
    )
  })
})

describe('listening defaults', () => {
  test('HOST defaults to 127.0.0.1 for every service (containers set 0.0.0.0 themselves)', () => {
    assert.equal(serviceSettings(8080, 'x').host.default, '127.0.0.1')
    assert.equal(loadGatewayConfig({ env: {}, argv: [] }).host, '127.0.0.1')
    assert.equal(loadReplicaConfig({ env: {}, argv: [] }).host, '127.0.0.1')
  })

  test('settings: "none" turns a tokens file or metrics port from the environment off (how local replicas are started)', () => {
    const env = { TOKENS_FILE: '/etc/tokens', METRICS_PORT: '9464' }
    const inherited = loadReplicaConfig({ env, argv: [] })
    assert.deepEqual([inherited.tokensFile, inherited.metricsPort, inherited.predictAuth], ['/etc/tokens', 9464, true])
    const local = loadReplicaConfig({ env, argv: ['--tokens-file', 'none', '--metrics-port', 'none'] })
    assert.deepEqual([local.tokensFile, local.metricsPort], [undefined, undefined])
    assert.equal(loadGatewayConfig({ env: {}, argv: [] }).predictAuth, false, 'predictions open on a gateway')
    assert.throws(() => loadGatewayConfig({ env: { METRICS_PORT: 'x' }, argv: [] }), /METRICS_PORT/)
  })

  test('no tokens file: a warning when reachable beyond this machine, silence on loopback or with tokens', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
      assert.ok(isLoopback(host), host)
      assert.equal(openAccessWarning(host, false), undefined, host)
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '128.0.0.1']) {
      assert.match(openAccessWarning(host, false) ?? '', /no TOKENS_FILE: every endpoint .* is open/, host)
      assert.equal(openAccessWarning(host, true), undefined, host)
    }
  })
})
