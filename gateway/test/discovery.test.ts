import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { call } from '../../common/http/call.ts'
import { addressToUrl } from '../src/discovery/dns.ts'
import { parseUrlList } from '../src/discovery/static.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { routable, startTestGateway } from './helpers.ts'
import { StubReplica } from './stub-replica.ts'

const image = Buffer.alloc(1024, 1)
const post = (gateway: RunningGateway) =>
  call(`${gateway.url}/predict`, { body: image, headers: { 'content-type': 'image/png' } })
const membership = (gateway: RunningGateway) => gateway.pool.all.map((r) => r.url).sort()

/** Resolves when the pool has exactly these replicas (draining ones leave once idle). */
async function poolIs(gateway: RunningGateway, urls: string[]) {
  while (membership(gateway).join() !== [...urls].sort().join()) await once(gateway.pool, 'change').catch(() => {})
}

describe('discovery', () => {
  const cleanup: (() => Promise<void>)[] = []
  after(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  test('dns: addresses that appear join after readiness, addresses that vanish drain; lookup failures keep the list', async () => {
    // All of 127/8 is loopback on Linux: two "hosts" with the same port, as behind a headless Service.
    const first = await StubReplica.start({ host: '127.0.0.2', name: 'first' })
    const second = await StubReplica.start({ host: '127.0.0.3', port: first.port, name: 'second' })
    cleanup.push(
      () => first.close(),
      () => second.close(),
    )
    let addresses = ['127.0.0.2']
    let failing = false
    const resolve = async () => {
      if (failing) throw new Error('SERVFAIL')
      return addresses
    }
    const gateway = await startTestGateway(
      [
        '--discovery',
        'dns',
        '--replica-dns-name',
        'replicas.test',
        '--replica-port',
        String(first.port),
        '--dns-interval-ms',
        '20',
      ],
      { resolve },
    )
    cleanup.push(() => gateway.shutdown(1000))
    await routable(gateway, 1)
    addresses = ['127.0.0.3', '127.0.0.2']
    await routable(gateway, 2)
    await Promise.all(Array.from({ length: 10 }, () => post(gateway)))
    assert.ok(first.requests.length > 0 && second.requests.length > 0)
    failing = true
    await gateway.discovery.refresh()
    assert.deepEqual(membership(gateway), [first.url, second.url].sort(), 'a failed lookup changes nothing')
    failing = false
    addresses = ['127.0.0.3']
    await poolIs(gateway, [second.url])
    const before = first.requests.length
    await Promise.all(Array.from({ length: 5 }, () => post(gateway)))
    assert.equal(first.requests.length, before, 'the vanished replica gets nothing')
  })

  test('static with a replicas file: edits to the file add and drain replicas without a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-replicas-'))
    const a = await StubReplica.start({ name: 'a' })
    const b = await StubReplica.start({ name: 'b' })
    cleanup.push(
      () => a.close(),
      () => b.close(),
      () => rm(dir, { recursive: true, force: true }),
    )
    const file = join(dir, 'replicas.txt')
    await writeFile(file, `# replicas\n${a.url}\n`)
    const gateway = await startTestGateway(['--discovery', 'static', '--replicas-file', file])
    cleanup.push(() => gateway.shutdown(1000))
    await routable(gateway, 1)
    await writeFile(file, `${a.url}\n${b.url}  # the new one\n`)
    await routable(gateway, 2)
    await writeFile(file, `${b.url}\n`)
    await poolIs(gateway, [b.url])
    const before = a.requests.length
    await Promise.all(Array.from({ length: 4 }, () => post(gateway)))
    assert.equal(a.requests.length, before)
    assert.equal(b.requests.length, 4)
    // Written atomically (a new file renamed over the old one), as the experiment's local cluster does.
    await writeFile(`${file}.next`, `${a.url}\n`)
    await rename(`${file}.next`, file)
    await poolIs(gateway, [a.url])
  })

  test('parsers: URL lists and addresses', () => {
    assert.deepEqual(parseUrlList('http://a:1/\n\n# c\n  https://b:2 # d\nnot a url\nftp://x\n'), [
      'http://a:1',
      'https://b:2',
    ])
    assert.equal(addressToUrl('10.0.0.7', 8081), 'http://10.0.0.7:8081')
    assert.equal(addressToUrl('fd00::7', 8081), 'http://[fd00::7]:8081')
  })
})
