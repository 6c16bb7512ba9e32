import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import { Agent, request } from 'undici'
import { imageUpload, multipartBody } from '../../common/http/multipart-body.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { RawConnection, rawPost } from '../../common/testing/raw-http.ts'
import type { RunningReplica } from '../../replica/src/replica.ts'
import { spawnTestReplica, startTestReplica } from '../../replica/test/helpers.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { startGatewayOver } from './helpers.ts'

// Long enough that a connection left stalled by an unread body shows as a 408 (or a 504), never as a slow success.
const BODY_TIMEOUT_MS = 4000
// The largest sample JPEGs: a body of three of them does not arrive in one read, so a refusal at the second part
// comes before its last byte.
const large = sampleImages()
  .filter((image) =>
    ['n03843555_oil_filter', 'n03109150_corkscrew', 'n02100583_vizsla'].some((n) => image.name.startsWith(n)),
  )
  .map((image) => image.bytes())
const small = sampleImages()[0]!.bytes()

/** The malformed upload of the issue: `file`, `image`, `file`, each a JPEG. */
function threeFileParts() {
  return multipartBody(
    ['file', 'image', 'file'].map((field, i) => ({
      field,
      filename: `${i}.jpg`,
      contentType: 'image/jpeg',
      data: large[i]!,
    })),
  )
}

interface Answer {
  status: number
  code?: string
}

async function post(url: string, upload: { body: Buffer; contentType: string }, dispatcher: Agent): Promise<Answer> {
  const response = await request(`${url}/predict`, {
    method: 'POST',
    body: upload.body,
    // A deadline of its own: the gateway's load shedding (the SLO) is not what this test is about.
    headers: { 'content-type': upload.contentType, 'x-timeout-ms': '120000' },
    dispatcher,
  })
  const body = (await response.body.json()) as { code?: string }
  return { status: response.statusCode, code: body.code }
}

describe('an upload with several file parts: one clean 400, and nothing else is affected', () => {
  let replica: RunningReplica
  let gateway: RunningGateway
  let bad: { body: Buffer; contentType: string }
  let good: { body: Buffer; contentType: string }

  before(async () => {
    assert.equal(large.length, 3)
    bad = await threeFileParts()
    good = await imageUpload(small)
    replica = await startTestReplica(['--body-timeout-ms', String(BODY_TIMEOUT_MS), '--models-dir', 'none'])
    gateway = await startGatewayOver([replica.url], ['--body-timeout-ms', String(BODY_TIMEOUT_MS)])
  })
  after(async () => {
    await gateway.shutdown(5000)
    await replica.shutdown(5000)
  })

  for (const target of ['replica', 'gateway'] as const) {
    test(`${target}: refused at once, before its last byte is sent; the same connection then serves a good request`, async () => {
      const url = target === 'replica' ? replica.url : gateway.url
      const connection = await RawConnection.open(url)
      try {
        const request = rawPost('/predict', { 'content-type': bad.contentType }, bad.body)
        // Everything up to and a little into the second file part; the rest only once the answer has come.
        const secondPart = request.indexOf('name="image"')
        const split = request.indexOf('\r\n\r\n', secondPart) + 4 + 1000
        connection.write(request.subarray(0, split))
        if (target === 'replica') {
          // A replica reads parts as they come: it refuses at the second one, before the body is whole.
          const refusal = await connection.nextResponse()
          assert.equal(refusal.status, 400, refusal.body)
          assert.equal(JSON.parse(refusal.body).code, 'bad_request')
          assert.match(JSON.parse(refusal.body).error, /exactly one image/)
          connection.write(request.subarray(split))
        } else {
          // The gateway holds the whole body before it looks at it: its refusal follows the last byte.
          connection.write(request.subarray(split))
          const refusal = await connection.nextResponse()
          assert.equal(refusal.status, 400, refusal.body)
          assert.equal(JSON.parse(refusal.body).code, 'bad_request')
        }
        connection.write(rawPost('/predict', { 'content-type': good.contentType }, good.body))
        const next = await connection.nextResponse()
        assert.equal(next.status, 200, next.body)
        assert.match(JSON.parse(next.body).prediction, /: \d+\.\d\d%$/)
      } finally {
        connection.close()
      }
    })

    test(`${target}: bad uploads sent in one write, each followed by a good request on its connection, while a second client sends good requests`, async () => {
      const url = target === 'replica' ? replica.url : gateway.url
      const replicaMetricsBefore = await (await request(`${replica.url}/metrics`)).body.text()
      const attacker = new Agent({ connections: 2 })
      const bystander = new Agent({ connections: 2 })
      try {
        const pairs = Array.from({ length: 2 }, async () => {
          const answers: Answer[] = []
          for (let i = 0; i < 6; i++) {
            answers.push(await post(url, bad, attacker))
            answers.push(await post(url, good, attacker))
          }
          return answers
        })
        const others = Array.from({ length: 2 }, async () => {
          const answers: Answer[] = []
          for (let i = 0; i < 6; i++) answers.push(await post(url, good, bystander))
          return answers
        })
        const attackerAnswers = (await Promise.all(pairs)).flat()
        const bystanderAnswers = (await Promise.all(others)).flat()
        assert.deepEqual(
          attackerAnswers.map((a) => `${a.status} ${a.code ?? ''}`.trim()),
          Array.from({ length: 12 }, () => ['400 bad_request', '200']).flat(),
        )
        assert.deepEqual(
          bystanderAnswers.map((a) => a.status),
          bystanderAnswers.map(() => 200),
        )
        if (target === 'gateway') {
          // Refused by the gateway itself: no replica saw these bodies, so none was blamed for them.
          const replicaMetrics = await (await request(`${replica.url}/metrics`)).body.text()
          const refusedByReplica = (text: string) =>
            text
              .split('\n')
              .filter((line) => line.startsWith('replica_requests_total{status="400"'))
              .join('\n')
          assert.equal(refusedByReplica(replicaMetrics), refusedByReplica(replicaMetricsBefore))
        }
      } finally {
        await attacker.close()
        await bystander.close()
      }
    })
  }

  test('gateway → replica hop: a body the replica refuses at its first part (a large file in another field) leaves its connection serving the next request', async () => {
    // One part, so the gateway forwards it; the replica refuses at the part's headers, before the file's bytes.
    const misplaced = await imageUpload(large[0]!, { field: 'upload' })
    const agent = new Agent({ connections: 1 })
    try {
      const answers: string[] = []
      for (let i = 0; i < 6; i++) {
        const refused = await post(gateway.url, misplaced, agent)
        const served = await post(gateway.url, good, agent)
        answers.push(`${refused.status} ${refused.code}`, String(served.status))
      }
      assert.deepEqual(answers, Array.from({ length: 6 }, () => ['400 missing_file', '200']).flat())
    } finally {
      await agent.close()
    }
  })

  test('gateway: a bad body of several parts is refused by the gateway itself (as is a body cut short), one whole part by the replica; the same code either way', async () => {
    const file = (field: string, name = 'a.jpg') => ({ field, filename: name, contentType: 'image/jpeg', data: small })
    const cut = (upload: Promise<{ body: Buffer; contentType: string }>) =>
      upload.then((u) => ({ ...u, body: u.body.subarray(0, u.body.length - 100) }))
    const cases: [string, Promise<{ body: Buffer; contentType: string }>, string, 'gateway' | 'replica'][] = [
      ['two files', multipartBody([file('file'), file('file', 'b.jpg')]), 'bad_request', 'gateway'],
      [
        'a file in another field, then one in "file"',
        multipartBody([file('upload'), file('file')]),
        'missing_file',
        'gateway',
      ],
      [
        'two text fields',
        multipartBody([
          { field: 'a', data: '1' },
          { field: 'b', data: '2' },
        ]),
        'missing_file',
        'gateway',
      ],
      ['two files, cut short', cut(multipartBody([file('file'), file('image')])), 'bad_request', 'gateway'],
      ['a file in another field', imageUpload(small, { field: 'upload' }), 'missing_file', 'replica'],
      ['a text field alone', multipartBody([{ field: 'comment', data: 'hi' }]), 'missing_file', 'replica'],
      ['one file, cut short', cut(imageUpload(small)), 'bad_request', 'gateway'],
    ]
    const agent = new Agent()
    // Attempts sent to replicas, all labels summed.
    const dispatched = async () =>
      (await (await request(`${gateway.url}/metrics`)).body.text())
        .split('\n')
        .filter((line) => line.startsWith('gateway_dispatched_total{'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)
    try {
      for (const [name, upload, code, refusedBy] of cases) {
        const before = await dispatched()
        const viaGateway = await post(gateway.url, await upload, agent)
        assert.deepEqual(viaGateway, { status: 400, code }, name)
        assert.equal(
          await dispatched(),
          refusedBy === 'gateway' ? before : before + 1,
          `${name}: refused by the ${refusedBy}`,
        )
        const viaReplica = await post(replica.url, await upload, agent)
        assert.deepEqual(viaReplica, viaGateway, `${name}: the replica agrees`)
      }
    } finally {
      await agent.close()
    }
  })
})

describe('a replica process after a refused multi-file upload', () => {
  test('SIGTERM drains at once and exits 0 (the refused body left no connection busy)', async () => {
    // A body timeout far beyond the drain's deadline: a connection stalled by an unread body would outlive the drain.
    const { child, url } = await spawnTestReplica(['--models-dir', 'none', '--body-timeout-ms', '300000'])
    const bad = await threeFileParts()
    const connection = await RawConnection.open(url)
    const whole = rawPost('/predict', { 'content-type': bad.contentType }, bad.body)
    const split = whole.indexOf('\r\n\r\n', whole.indexOf('name="image"')) + 4 + 1000
    connection.write(whole.subarray(0, split))
    assert.equal((await connection.nextResponse()).status, 400)
    // The client sends the rest of its body and keeps its connection open, as a keep-alive client does.
    connection.write(whole.subarray(split))
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code] = await exited
    connection.close()
    assert.equal(code, 0, 'exit code 0: drained, not cut by the drain deadline')
  })
})
