import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { call, errorCode, postImage } from '../../common/http/call.ts'
import { imageUpload } from '../../common/http/multipart-body.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { RawConnection, rawPost } from '../../common/testing/raw-http.ts'
import type { RunningReplica } from '../../replica/src/replica.ts'
import { startTestReplica } from '../../replica/test/helpers.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'

const jpeg = sampleImages()[0]!.bytes()

describe('a repeated query parameter or header is a 400 naming it, on the gateway and a replica', () => {
  let replica: RunningReplica
  let gateway: RunningGateway
  const targets = () => [
    { name: 'replica', url: replica.url },
    { name: 'gateway', url: gateway.url },
  ]

  before(async () => {
    replica = await startTestReplica(['--models-dir', 'none'])
    gateway = await startTestGateway(['--discovery', 'static', '--replicas', replica.url, '--autoscaler', 'none'])
    await routable(gateway, 1)
  })
  after(async () => {
    await gateway.shutdown(5000)
    await replica.shutdown(5000)
  })

  test('?model=a&model=b, on /predict and on other routes', async () => {
    const { body, contentType } = await imageUpload(jpeg)
    for (const { name, url } of targets()) {
      for (const query of [
        'model=resnet18&model=darknet-tiny',
        'model=resnet18&model=resnet18',
        'model=a&x=1&model=b',
      ]) {
        const response = await call(`${url}/predict?${query}`, { body, headers: { 'content-type': contentType } })
        assert.equal(response.status, 400, `${name} ${query}: ${JSON.stringify(response.body)}`)
        assert.equal(errorCode(response), 'invalid_query')
        assert.match(response.body.error, /"model"/)
      }
      const models = await call(`${url}/models?model=a&model=b`)
      assert.equal(models.status, 400, `${name} /models`)
      assert.equal(errorCode(models), 'invalid_query')
      assert.equal((await postImage(`${url}/predict?model=resnet18`, jpeg)).status, 200, `${name} still serves`)
    }
  })

  test('X-Model, X-Timeout-Ms, X-Priority, X-Request-Id or Content-Type sent twice (in any case)', async () => {
    const { body, contentType } = await imageUpload(jpeg)
    const cases: [string, string, string][] = [
      ['X-Model', 'resnet18', 'resnet18'],
      ['x-timeout-ms', '5000', '10'],
      ['X-Priority', 'low', 'normal'],
      ['X-Request-Id', 'one', 'two'],
      ['Content-Type', contentType, 'image/jpeg'],
    ]
    for (const { name, url } of targets()) {
      for (const [header, first, second] of cases) {
        const connection = await RawConnection.open(url)
        try {
          const request = rawPost('/predict', { 'content-type': contentType }, body)
          // The repeat goes in as two header lines, the second spelt in upper case.
          const withRepeat = Buffer.concat([
            request.subarray(0, request.indexOf('\r\n') + 2),
            Buffer.from(`${header}: ${first}\r\n${header.toUpperCase()}: ${second}\r\n`),
            request.subarray(request.indexOf('\r\n') + 2),
          ])
          const cleaned =
            header === 'Content-Type'
              ? Buffer.from(withRepeat.toString('latin1').replace(`content-type: ${contentType}\r\n`, ''), 'latin1')
              : withRepeat
          connection.write(cleaned)
          const answer = await connection.nextResponse()
          assert.equal(answer.status, 400, `${name} ${header}: ${answer.body}`)
          const parsed = JSON.parse(answer.body)
          assert.equal(parsed.code, 'invalid_header', `${name} ${header}`)
          assert.ok(parsed.error.includes(header.toLowerCase()), `${name}: ${parsed.error} names ${header}`)
          // The connection is still good for a well-formed request.
          connection.write(rawPost('/predict', { 'content-type': contentType }, body))
          assert.equal((await connection.nextResponse()).status, 200, `${name} after ${header}`)
        } finally {
          connection.close()
        }
      }
    }
  })
})
