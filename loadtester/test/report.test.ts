import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { launchChromium, pageProblems } from '../../common/testing/browser.ts'
import { loadImages } from '../src/images.ts'
import { runLoad } from '../src/runner.ts'
import { writeReport } from '../src/write-report.ts'
import { StubTarget } from './stub-target.ts'

const dir = mkdtempSync(join(tmpdir(), 'switchyard-report-'))
const imagesDir = mkdtempSync(join(tmpdir(), 'switchyard-images-'))
writeFileSync(join(imagesDir, 'n01440764_tench.JPEG'), Buffer.alloc(1500, 1))
writeFileSync(join(imagesDir, 'n01443537_goldfish.JPEG'), Buffer.alloc(1500, 2))
writeFileSync(join(imagesDir, 'unlabelled.png'), Buffer.alloc(1500, 3))

// Every 7th request is refused with 503; among the rest, requests whose index is divisible by 3 get a wrong label,
// and every 5th is answered by a fallback (degraded: true, brownout).
const plan = (index: number, truth: string | undefined) =>
  index % 7 === 6
    ? { status: 503 }
    : { status: 200, label: index % 3 === 0 ? 'wrong' : (truth ?? 'whatever'), degraded: index % 5 === 4 }

describe('the report', () => {
  let stub: StubTarget
  let replicasCalls = 0
  before(async () => {
    stub = await new StubTarget({
      answer: plan,
      replicas: () => ({ ready: 2 + (replicasCalls++ % 2), total: 3, desired: 3 }),
    }).start()
  })
  after(() => stub.close())

  test('summary.json, requests.csv and timeline.csv agree with what the server saw', async () => {
    const workload = [12, 18, 9]
    const result = await runLoad({
      target: stub.url,
      workload,
      arrival: 'poisson',
      seed: 9,
      images: loadImages(imagesDir),
      timeoutMs: 2000,
      concurrencyCap: 64,
    })
    const run = {
      target: stub.url,
      workload: 'test',
      scale: 1,
      arrival: 'poisson',
      seed: 9,
      timeoutMs: 2000,
      sloMs: 500,
      seconds: workload.length,
    }
    writeReport(dir, run, result)
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))
    const seen = stub.arrivals.map((a) => plan(a.index, undefined))
    assert.equal(summary.sent, stub.arrivals.length)
    assert.equal(summary.sent, 39)
    assert.equal(summary.by_status['503'], seen.filter((p) => p.status === 503).length)
    assert.equal(summary.by_status['200'], seen.filter((p) => p.status === 200).length)
    assert.equal(summary.dropped, 0)
    assert.equal(summary.slo_attainment, summary.by_status['200'] / 39)
    assert.ok(summary.latency_ms.p50 > 0 && summary.latency_ms.p99 >= summary.latency_ms.p50)
    // Accuracy counts only answers for images whose name carries a synset.
    const labelled = result.records.filter((r) => r.status === 200 && r.truth !== undefined)
    const correct = labelled.filter((r) => r.index % 3 !== 0).length
    assert.equal(summary.accuracy.evaluated, labelled.length)
    assert.equal(summary.accuracy.top1, correct / labelled.length)
    assert.equal(summary.replicas.max_ready, 3)
    assert.equal(summary.model.name, 'stub')
    const degraded = seen.filter((p) => p.status === 200 && p.degraded).length
    assert.ok(degraded > 0)
    assert.equal(summary.degraded.answers, degraded)
    assert.equal(summary.degraded.share, degraded / 39)
    assert.equal(summary.degraded.share_of_ok, degraded / summary.by_status['200'])

    const rows = readFileSync(join(dir, 'requests.csv'), 'utf8').trim().split('\n')
    assert.equal(
      rows[0],
      'index,intended_ms,sent_ms,answered_ms,status,latency_ms,queue_size,upstream_ms,replica,predicted,truth,image,degraded',
    )
    assert.equal(rows.length, 40)
    for (const arrival of stub.arrivals) {
      const cells = rows[arrival.index + 1]!.split(',')
      assert.equal(cells[4], String(plan(arrival.index, undefined).status))
      assert.equal(cells[6], String(arrival.index % 5), 'queue_size from the answer')
      if (cells[4] === '200') assert.equal(cells[7], String(10 + (arrival.index % 3)), 'upstream_ms from the answer')
      assert.equal(cells.at(-1), plan(arrival.index, undefined).degraded ? '1' : '0')
    }

    const timeline = readFileSync(join(dir, 'timeline.csv'), 'utf8').trim().split('\n')
    const header = timeline[0]!.split(',')
    assert.deepEqual(header.slice(0, 5), ['second', 'offered', 'sent', 'ok', 'errors_503'])
    const body = timeline.slice(1).map((line) => line.split(','))
    assert.deepEqual(
      body.map((c) => Number(c[1])),
      workload,
    )
    assert.equal(
      body.reduce((s, c) => s + Number(c[3]) + Number(c[4]), 0),
      39,
    )
    assert.ok(body.every((c) => Number(c[header.indexOf('max_queue_size')]) <= 4))
    assert.equal(
      body.reduce((s, c) => s + Number(c[header.indexOf('degraded')]), 0),
      degraded,
    )
  })

  test('report.html renders offline in Chromium: charts drawn, no console errors', async () => {
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      const errors = pageProblems(page, 'file:')
      await page.goto(`file://${join(dir, 'report.html')}`)
      assert.match(await page.title(), /Switchyard load test/)
      const canvases = page.locator('canvas')
      assert.ok((await canvases.count()) >= 5, 'rps, latency, errors, queue and replica charts')
      for (const box of await canvases.evaluateAll((list) =>
        list.map((c) => [(c as unknown as { width: number }).width, (c as unknown as { height: number }).height]),
      )) {
        assert.ok(box[0]! > 100 && box[1]! > 100)
      }
      assert.match((await page.locator('body').textContent()) ?? '', /within it/)
      assert.deepEqual(errors, [])
    } finally {
      await browser.close()
    }
  })
})

describe('npm run load (the CLI)', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
  const cli = (args: string[]) =>
    spawn(process.execPath, [main, '--progress', 'false', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })

  test('Ctrl-C stops cleanly and still writes the report for what ran', async () => {
    const stub = await new StubTarget({ answer: () => ({ status: 200, label: 'x', delayMs: 50 }) }).start()
    const workloadFile = join(dir, 'long.txt')
    writeFileSync(workloadFile, '10\n'.repeat(60))
    const out = join(dir, 'interrupted')
    const child = cli(['--target', stub.url, '--workload', workloadFile, '--images', imagesDir, '--out', out])
    await stub.received(5)
    child.kill('SIGINT')
    const [code] = await once(child, 'exit')
    await stub.close()
    assert.equal(code, 0)
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))
    assert.equal(summary.run.interrupted, true)
    assert.ok(summary.sent >= 5 && summary.sent < 600)
    assert.equal(summary.answered, summary.sent)
    assert.ok(existsSync(join(out, 'report.html')) && existsSync(join(out, 'requests.csv')))
  })

  test('bad options and bad workload files are refused with a message naming them (exit 2)', async () => {
    const badWorkload = join(dir, 'bad.txt')
    writeFileSync(badWorkload, '5 5\n5 five\n')
    for (const [args, message] of [
      [['--workload', badWorkload], /bad\.txt: not a request count "five" at line 2, column 3/],
      [['--workload', join(dir, 'missing.txt')], /missing\.txt/],
      [['--scale', 'lots'], /--scale="lots"/],
      [['--arrival', 'sometimes'], /--arrival.*poisson, uniform, burst/],
    ] as const) {
      const child = cli([...args])
      let stderr = ''
      child.stderr!.on('data', (chunk) => (stderr += chunk))
      const [code] = await once(child, 'exit')
      assert.equal(code, 2, stderr)
      assert.match(stderr, message)
    }
  })
})
