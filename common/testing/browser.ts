import { existsSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'

/** Debian's Chromium (`.ci/run` installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium'

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
  })
}

/**
 * Collects what a page must never do: log a console error, throw, or fetch anything outside `allowed` (a URL
 * prefix such as the server under test, or `file:`). Tests assert the list is empty at the end.
 */
export function pageProblems(page: Page, allowed: string): string[] {
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`uncaught: ${String(error)}`))
  page.on('request', (request) => {
    const url = request.url()
    if (!url.startsWith(allowed) && !url.startsWith('blob:') && !url.startsWith('data:')) {
      problems.push(`network request outside ${allowed}: ${url}`)
    }
  })
  return problems
}
