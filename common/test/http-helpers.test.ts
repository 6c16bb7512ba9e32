import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ERROR_STATUS, errorCodeOf, ServiceError } from '../errors.ts'
import { deadlineFromHeaders, MAX_TIMEOUT_MS, timeLeftFromHeaders } from '../http/deadline.ts'
import { toServiceError } from '../http/error-handling.ts'
import { reachableListenUrl } from '../http/listen-url.ts'
import { requestIdFrom } from '../http/request-id.ts'

describe('deadlineFromHeaders', () => {
  const now = 1_700_000_000_000
  test('X-Timeout-Ms is relative, X-Deadline-Ms absolute, neither means no deadline', () => {
    assert.equal(deadlineFromHeaders({ 'x-timeout-ms': '250' }, now), now + 250)
    assert.equal(deadlineFromHeaders({ 'x-deadline-ms': String(now + 900) }, now), now + 900)
    assert.equal(deadlineFromHeaders({}, now), undefined)
    assert.equal(deadlineFromHeaders({ 'x-timeout-ms': '0' }, now), now)
    assert.equal(timeLeftFromHeaders({ 'x-timeout-ms': '250' }, now), 250)
    assert.equal(timeLeftFromHeaders({ 'x-deadline-ms': String(now - 10) }, now), -10)
    assert.equal(timeLeftFromHeaders({}, now), undefined)
  })

  for (const value of ['-1', 'abc', '1.5', '', '99999999999999999999', String(MAX_TIMEOUT_MS + 1), '0x10']) {
    test(`X-Timeout-Ms ${JSON.stringify(value)} is a 400 invalid_header`, () => {
      assert.throws(
        () => deadlineFromHeaders({ 'x-timeout-ms': value }, now),
        (e: unknown) => e instanceof ServiceError && e.code === 'invalid_header' && e.statusCode === 400,
      )
    })
  }

  test('an absurd absolute deadline is refused, a repeated header too', () => {
    assert.throws(() => deadlineFromHeaders({ 'x-deadline-ms': String(now * 2) }, now), ServiceError)
    assert.throws(() => deadlineFromHeaders({ 'x-timeout-ms': ['1', '2'] }, now), ServiceError)
  })
})

describe('requestIdFrom', () => {
  test('keeps safe ids, replaces unsafe or missing ones with a UUID', () => {
    assert.equal(requestIdFrom('abc-123_x.y:z'), 'abc-123_x.y:z')
    const uuid = /^[0-9a-f-]{36}$/
    for (const unsafe of [undefined, '', 'a\nb', 'x'.repeat(129), 'evil\u001b[31m', 'two words']) {
      assert.match(requestIdFrom(unsafe), uuid)
    }
  })

  test('never returns control characters, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to look for them
        assert.doesNotMatch(requestIdFrom(s), /[\u0000-\u001f\u007f\s]/)
      }),
    )
  })
})

describe('toServiceError', () => {
  test('maps framework errors to stable codes and everything unknown to internal (500)', () => {
    assert.equal(toServiceError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'x' }).code, 'payload_too_large')
    assert.equal(toServiceError({ code: 'FST_REQ_FILE_TOO_LARGE', message: 'x' }).statusCode, 413)
    assert.equal(toServiceError({ validation: [], validationContext: 'headers', message: 'x' }).code, 'invalid_header')
    assert.equal(toServiceError(new Error('Unexpected end of form')).code, 'bad_request')
    assert.equal(toServiceError(new TypeError('oops')).code, 'internal')
    assert.equal(toServiceError(new ServiceError('queue_full', 'busy', 2)).retryAfterSeconds, 2)
  })

  test('every code has a 4xx or 5xx status', () => {
    for (const status of Object.values(ERROR_STATUS)) assert.ok(status >= 400 && status < 600)
  })
})

test('errorCodeOf reads the code of an error body, and nothing from any other body', () => {
  assert.equal(errorCodeOf(Buffer.from('{"error":"full","code":"replica_full","request_id":"r"}')), 'replica_full')
  for (const body of ['', 'Service Unavailable', '{"code":503}', 'null', '[]', '{"error":"no code"}']) {
    assert.equal(errorCodeOf(Buffer.from(body)), undefined, body)
  }
})

test('a server bound to every interface is reached at the loopback address; a named host is kept', () => {
  assert.equal(reachableListenUrl('http://0.0.0.0:8080'), 'http://127.0.0.1:8080')
  assert.equal(reachableListenUrl('http://[::]:41234'), 'http://127.0.0.1:41234')
  assert.equal(reachableListenUrl('http://127.0.0.1:9000'), 'http://127.0.0.1:9000')
  assert.equal(reachableListenUrl('http://[::1]:9000'), 'http://[::1]:9000')
})
