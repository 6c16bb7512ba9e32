import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { repeatedHeader, repeatedQueryParameter, SINGLE_VALUE_HEADERS } from '../http/repeated-fields.ts'
import { createServiceApp } from '../http/service-app.ts'
import { testLogger } from '../testing/silent-logger.ts'

const watched = [...SINGLE_VALUE_HEADERS]
/** Header names as a client might spell them: watched ones in any case, and others. */
const headerName = fc.oneof(
  fc
    .constantFrom(...watched)
    .chain((name) =>
      fc
        .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
        .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('')),
    ),
  fc.constantFrom('accept', 'user-agent', 'x-forwarded-for', 'via', 'cookie'),
)

describe('repeatedHeader', () => {
  test('property: names a watched header exactly when one occurs twice (any case); others may repeat', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(headerName, fc.string({ maxLength: 8 })), { maxLength: 12 }), (pairs) => {
        const raw = pairs.flat()
        const counts = new Map<string, number>()
        for (const [name] of pairs) counts.set(name.toLowerCase(), (counts.get(name.toLowerCase()) ?? 0) + 1)
        const repeated = watched.filter((name) => (counts.get(name) ?? 0) > 1)
        const found = repeatedHeader(raw)
        if (repeated.length === 0) assert.equal(found, undefined)
        else assert.ok(found !== undefined && repeated.includes(found), `${found} of ${repeated}`)
      }),
    )
  })
})

describe('repeatedQueryParameter', () => {
  test('the first parameter whose value is an array', () => {
    assert.equal(repeatedQueryParameter({ a: '1', model: ['a', 'b'] }), 'model')
    assert.equal(repeatedQueryParameter({ a: '1', b: '' }), undefined)
    assert.equal(repeatedQueryParameter(undefined), undefined)
  })
})

describe('a service app refuses repeats before any route reads them', () => {
  let app: FastifyInstance
  before(async () => {
    app = await createServiceApp({
      logger: testLogger('test'),
      title: 't',
      description: 'd',
      bodyLimit: 1024,
      requestTimeoutMs: 5000,
    })
    // Reads its parameter as a string, as every route does: an array here would be a 500.
    app.get('/echo', (request) => ({ keys: Object.keys(request.query as object).map((k) => k.toLowerCase()) }))
    await app.ready()
  })
  after(() => app.close())

  test('property: any query string (Fastify’s own parser) is a 400 invalid_query naming a repeated parameter, else 200', async () => {
    const key = fc.constantFrom('model', 'limit', 'a', 'x y', 'é', '[]', 'model[]')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, fc.string({ maxLength: 6 })), { maxLength: 6 }), async (pairs) => {
        const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')
        const response = await app.inject({ method: 'GET', url: `/echo?${query}` })
        const counts = new Map<string, number>()
        for (const [k] of pairs) counts.set(k, (counts.get(k) ?? 0) + 1)
        const repeated = [...counts].filter(([, n]) => n > 1).map(([k]) => k)
        const body = response.json()
        if (repeated.length === 0) {
          assert.equal(response.statusCode, 200, response.body)
          return
        }
        assert.equal(response.statusCode, 400, response.body)
        assert.equal(body.code, 'invalid_query')
        assert.equal(typeof body.request_id, 'string')
        const named = /"(.*)"/.exec(body.error)?.[1]
        assert.ok(
          repeated.some((k) => k.replace(/[^\w.@-]/g, '?') === named),
          `${body.error} names one of ${repeated}`,
        )
      }),
      { numRuns: 200 },
    )
  })
})
