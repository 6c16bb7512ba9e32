/// <reference lib="dom" />
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { call } from '../../common/http/call.ts'
import { sampleImages } from '../../common/sample-images.ts'
import { launchChromium, pageProblems } from '../../common/testing/browser.ts'
import { runLoad } from '../../loadtester/src/runner.ts'
import type { RunningGateway } from '../src/gateway.ts'
import { startGatewayWithLocalReplicas } from './helpers.ts'

const SCREENSHOTS = join('out', 'test', 'web-page')
const tench = sampleImages()[0]!

describe('the web page at / (Chromium, real gateway and replicas)', () => {
  let gateway: RunningGateway
  let browser: Browser
  let page: Page
  let problems: string[]

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    gateway = await startGatewayWithLocalReplicas(2)
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1200, height: 1000 } })
    problems = pageProblems(page, gateway.url)
    await page.goto(`${gateway.url}/`)
  })
  after(async () => {
    await browser?.close()
    await gateway?.shutdown(10_000)
  })

  test('the page and its chart library are served locally; every control has a label', async () => {
    assert.match(await page.title(), /Switchyard/)
    const css = await call(`${gateway.url}/vendor/uplot/uPlot.min.css`)
    assert.equal(css.status, 200)
    assert.equal((await call(`${gateway.url}/vendor/uplot/package.json`)).status, 404, 'only the two files are exposed')
    const unlabelled = await page.$$eval('input, select', (controls) =>
      controls.filter((c) => (c as HTMLInputElement).labels?.length === 0).map((c) => c.id),
    )
    assert.deepEqual(unlabelled, [])
    // The model list comes from the gateway.
    await page.waitForSelector('#model-select option[value="darknet-tiny"]', { state: 'attached' })
  })

  test('before any upload, a placeholder says what to do and no empty result (image, headings) shows', async () => {
    const placeholder = page.getByText('Choose, drop or paste an image to classify it')
    await placeholder.waitFor({ state: 'visible' })
    // No broken image: every <img> on screen has loaded a picture.
    const brokenImages = await page.$$eval('img', (images) =>
      (images as HTMLImageElement[])
        .filter((img) => img.checkVisibility() && img.naturalWidth === 0)
        .map((img) => img.id || img.alt),
    )
    assert.deepEqual(brokenImages, [])
    assert.equal(await page.isVisible('#preview'), false)
    for (const name of [/^Top 5/, /^Timings$/]) {
      const heading = page.getByRole('heading', { name, includeHidden: true })
      assert.equal(await heading.count(), 1, `the ${name} heading exists`)
      assert.equal(await heading.isVisible(), false, `the ${name} heading is hidden before an upload`)
    }
    const emptyHeadings = await page.$$eval('h1, h2, h3, h4, h5, h6', (headings) =>
      headings.filter((h) => h.checkVisibility() && !h.textContent?.trim()).map((h) => h.outerHTML),
    )
    assert.deepEqual(emptyHeadings, [])
    // What a screen reader gets: the placeholder, and neither an image nor the result headings.
    const tree = await page.locator('section[aria-labelledby="classify-title"]').ariaSnapshot()
    assert.match(tree, /Choose, drop or paste an image/)
    assert.doesNotMatch(tree, /- img|heading "(Top 5|Timings)/)
    await page.screenshot({ path: join(SCREENSHOTS, 'empty-state.png'), fullPage: true })
  })

  test('the upload is reachable from the keyboard', async () => {
    await page.locator('body').focus()
    const reached: string[] = []
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab')
      reached.push(await page.evaluate(() => document.activeElement?.id ?? ''))
      if (reached.at(-1) === 'file-input') break
    }
    assert.equal(reached.at(-1), 'file-input', `Tab reached ${reached.join(', ')}`)
  })

  test('uploading a real image shows it, the top-5 bars, timings and the replica, with the untrained warning', async () => {
    await page.setInputFiles('#file-input', tench.path)
    await page.waitForSelector('#top5 li:nth-child(5)')
    await page.getByText('Choose, drop or paste an image to classify it').waitFor({ state: 'hidden' })
    for (const selector of ['#result', '#preview', '#top5', '#timings'])
      assert.equal(await page.isVisible(selector), true, `${selector} is shown after an upload`)
    for (const name of [/^Top 5/, /^Timings$/])
      assert.equal(await page.getByRole('heading', { name }).isVisible(), true, `the ${name} heading is shown`)
    assert.match((await page.textContent('#status')) ?? '', /answered by local-\d+/)
    assert.ok(await page.$eval('#preview', (img) => (img as HTMLImageElement).naturalWidth > 0), 'preview shown')
    const timings = (await page.textContent('#timings')) ?? ''
    for (const name of ['gateway queue', 'preprocess', 'inference', 'total', 'replica'])
      assert.match(timings, new RegExp(name))
    // Offline, the default ResNet18 is untrained: the page must say so.
    assert.equal(await page.isVisible('#warning'), true)
    assert.match((await page.textContent('#warning')) ?? '', /UNTRAINED/)
    await page.screenshot({ path: join(SCREENSHOTS, 'prediction-resnet18.png'), fullPage: true })

    await page.selectOption('#model-select', 'darknet-tiny')
    await page.setInputFiles('#file-input', [])
    await page.setInputFiles('#file-input', tench.path)
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent?.includes('darknet-tiny'))
    assert.match((await page.textContent('#top5 li:first-child')) ?? '', /^tench/)
    assert.equal(await page.isVisible('#warning'), false, 'a trained model has no warning')
    await page.screenshot({ path: join(SCREENSHOTS, 'prediction-darknet-tiny.png'), fullPage: true })
  })

  test('an upload that is not an image gets the gateway’s error, in words', async () => {
    await page.setInputFiles('#file-input', {
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not a png'),
    })
    await page.waitForFunction(() => document.querySelector('#status')?.classList.contains('error'))
    assert.match((await page.textContent('#status')) ?? '', /^4\d\d \w+: /)
    // No stale answer for a different image stays on screen; the placeholder is back.
    assert.equal(await page.isVisible('#result'), false)
    assert.equal(await page.getByText('Choose, drop or paste an image to classify it').isVisible(), true)
    // Chromium logs every 4xx fetch as a console error; this one was provoked on purpose and shown to the user.
    const expected = problems.findIndex((p) => /status of 415/.test(p))
    assert.ok(expected >= 0)
    problems.splice(expected, 1)
  })

  test('under load, the live panel shows the queue, the rates and the replicas working', async () => {
    // Well above what two replicas answer, for 4 s: the gateway queue must fill.
    const load = runLoad({
      target: gateway.url,
      workload: [120, 120, 120, 120],
      arrival: 'poisson',
      seed: 3,
      images: sampleImages()
        .slice(0, 50)
        .map((image) => ({ name: image.name, bytes: image.bytes(), truth: undefined })),
      timeoutMs: 30_000,
      concurrencyCap: 1000,
      pollReplicas: false,
    })
    await page.waitForFunction(() => Number(document.querySelector('#stat-queue')?.textContent?.split(' / ')[0]) > 0)
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLTableRowElement>('#replica-table tbody tr')].some((row) =>
        /^[1-9]/.test(row.cells[2]?.textContent ?? ''),
      ),
    )
    // The model versions table: the default model's version, in production, with the requests it answered.
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLTableRowElement>('#version-table tbody tr')].some(
        (row) =>
          row.cells[0]?.textContent === 'resnet18' &&
          row.cells[2]?.textContent === 'production' &&
          Number(row.cells[4]?.textContent) > 0,
      ),
    )
    await page.screenshot({ path: join(SCREENSHOTS, 'live-under-load.png'), fullPage: true })
    const result = await load
    assert.ok(result.records.some((r) => r.status === 200))
    // A string, not a function: the page's top-level `charts` is a script binding, not a property of window.
    const charts = (await page.evaluate(`(() => {
      const max = (series) => Math.max(0, ...(series ?? []).map((v) => v ?? 0))
      return { queue: max(charts.queue?.data[1]), answered: max(charts.rps?.data[1]), p99: max(charts.latency?.data[2]) }
    })()`)) as { queue: number; answered: number; p99: number }
    assert.ok(charts.queue > 0, 'the queue chart shows the queue')
    assert.ok(charts.answered > 0, 'the rate chart shows answers')
    assert.ok(charts.p99 > 0, 'the latency chart shows p99')
    const rows = await page.$$eval('#replica-table tbody tr', (list) =>
      list.map((row) => (row as HTMLTableRowElement).cells[1]?.textContent),
    )
    assert.deepEqual(rows, ['ready', 'ready'])
  })

  test('a narrow window (phone width) needs no horizontal scrolling', async () => {
    await page.setViewportSize({ width: 380, height: 900 })
    // Layout and the charts' ResizeObservers settle within two frames.
    await page.evaluate('new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    const wide = await page.evaluate(
      `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8).join(' ')`,
    )
    await page.screenshot({ path: join(SCREENSHOTS, 'narrow.png'), fullPage: true })
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the window: ${wide}`)
    assert.deepEqual(problems, [])
  })
})
