import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runEntryPoint } from '../../common/testing/run-command.ts'
import { StubTarget } from './stub-target.ts'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url))

/** `npm run load -- ...args`, as a child process. */
const load = (args: string[]) => runEntryPoint(MAIN, args)

describe('npm run load: flags', { concurrency: 4 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-load-cli-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  const bad: [string[], RegExp][] = [
    [['--target', 'notaurl'], /^Invalid configuration --target="notaurl": expected an http\(s\) URL/],
    [['--target', 'localhost:8080'], /--target/],
    [['--scale', '-1'], /^Invalid configuration --scale="-1"/],
    [['--scale', '0'], /^Invalid configuration --scale="0"/],
    [['--duration', 'abc'], /^Invalid configuration --duration="abc"/],
    [['--workload', join(dir, 'missing.txt')], /^workload file .*missing\.txt not found/],
    [['--images', join(dir, 'no-images')], /^image directory .*no-images does not exist \(--images DIR/],
  ]
  for (const [args, message] of bad) {
    test(`${args.join(' ')}: one line naming it, no stack trace, exit 2`, async () => {
      const { code, stdout, stderr } = await load(args)
      assert.equal(code, 2, stderr)
      assert.equal(stdout, '')
      const lines = stderr.trimEnd().split('\n')
      assert.equal(lines.length, 1, stderr)
      assert.match(lines[0]!, message)
    })
  }

  test('--target http://host:port/add_to_queue posts there (the seed API), query kept, and writes the report', async () => {
    const stub = await new StubTarget({ replicas: () => ({ ready: 1, total: 1 }) }).start()
    after(() => stub.close())
    const workload = join(dir, 'tiny.txt')
    writeFileSync(workload, '3 2\n')
    const out = join(dir, 'report')
    const target = `${stub.url}/add_to_queue?model=darknet-tiny`
    const { code, stdout, stderr } = await load([
      '--target',
      target,
      '--workload',
      workload,
      '--images',
      FIXTURES,
      '--arrival',
      'uniform',
      '--progress',
      'false',
      '--out',
      out,
    ])
    assert.equal(code, 0, stderr)
    assert.match(stdout, /5 sent, 5 answered/)
    assert.deepEqual(
      stub.arrivals.map((a) => a.url),
      Array.from({ length: 5 }, () => '/add_to_queue?model=darknet-tiny'),
    )
    assert.ok(stub.gets.includes('/replicas'), stub.gets.join(', '))
    // Like most clients, it sends no deadline unless told to: the gateway then admits by its SLO.
    assert.deepEqual(
      stub.arrivals.filter((a) => a.headers['x-timeout-ms'] !== undefined),
      [],
    )
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { run: { target: string } }
    assert.equal(summary.run.target, target)
  })

  test('--send-deadline sends --timeout-ms as X-Timeout-Ms', async () => {
    const stub = await new StubTarget().start()
    after(() => stub.close())
    const workload = join(dir, 'one.txt')
    writeFileSync(workload, '2\n')
    const args = ['--target', stub.url, '--workload', workload, '--images', FIXTURES, '--progress', 'false']
    const { code, stderr } = await load([
      ...args,
      '--out',
      join(dir, 'deadline'),
      '--timeout-ms',
      '1500',
      '--send-deadline',
      'true',
    ])
    assert.equal(code, 0, stderr)
    assert.deepEqual(
      stub.arrivals.map((a) => a.headers['x-timeout-ms']),
      ['1500', '1500'],
    )
  })
})
