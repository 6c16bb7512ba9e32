import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { describe, test } from 'node:test'
import { postImage } from '../../common/http/call.ts'
import { someSampleImages } from '../../common/sample-images.ts'
import { startTestReplica } from './helpers.ts'

const [image] = someSampleImages(1, 7).map((i) => i.bytes()) as [Buffer]

/** Sends a request's head and only part of its body: the replica admits it and waits for the rest. */
async function startUpload(url: string, body: Buffer, sent: number): Promise<Socket> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await once(socket, 'connect')
  socket.write(
    `POST /predict HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: image/jpeg\r\ncontent-length: ${body.length}\r\n\r\n`,
  )
  socket.write(body.subarray(0, sent))
  return socket
}

/** Reads what the server sends on `socket` until it has a whole head (status line and headers). */
async function readHead(socket: Socket): Promise<{ status: number; headers: Map<string, string>; raw: string }> {
  let raw = ''
  while (!raw.includes('\r\n\r\n')) raw += String((await once(socket, 'data'))[0])
  const [statusLine, ...lines] = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n')
  const headers = new Map(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  )
  return { status: Number(statusLine!.split(' ')[1]), headers, raw }
}

describe('a full replica refuses at once (MAX_INFLIGHT)', () => {
  test('one request over MAX_INFLIGHT gets 503 replica_full with X-Replica-Inflight before its body is sent', async (t) => {
    const replica = await startTestReplica(['--max-inflight', '1', '--max-batch-size', '1'])
    try {
      // The first upload holds the only place: admitted, its body half sent.
      const holder = await startUpload(replica.url, image, image.length >> 1)
      await t.waitFor(() => assert.equal(replica.state.inflight, 1), { interval: 5, timeout: 10_000 })
      // The second sends its head only: an answer can come only from a replica that did not wait for the body.
      const refused = await startUpload(replica.url, image, 0)
      const head = await readHead(refused)
      refused.destroy()
      assert.equal(head.status, 503)
      assert.equal(head.headers.get('x-replica-inflight'), '1')
      assert.match(head.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
      // Nothing runs yet (the holder's body is still arriving): a place frees in about one image's time.
      assert.match(head.headers.get('x-replica-free-in-ms') ?? '', /^\d+$/)
      assert.match(head.raw, /"code":"replica_full"/)
      // The holder is answered once its body arrives, and the place is free again.
      holder.write(image.subarray(image.length >> 1))
      assert.equal((await readHead(holder)).status, 200)
      holder.destroy()
      await t.waitFor(() => assert.equal(replica.state.inflight, 0), { interval: 5, timeout: 10_000 })
      const after = await postImage(`${replica.url}/predict`, image)
      assert.equal(after.status, 200, JSON.stringify(after.body))
    } finally {
      await replica.shutdown(5000)
    }
  })

  test('the default holds more than one gateway sends with its default REPLICA_SLOTS (1): a burst of 8 is served', async () => {
    const replica = await startTestReplica([])
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => postImage(`${replica.url}/predict`, image)))
      assert.deepEqual(
        answers.map((a) => a.status),
        answers.map(() => 200),
        JSON.stringify(answers.map((a) => a.body.code ?? null)),
      )
    } finally {
      await replica.shutdown(5000)
    }
  })
})
