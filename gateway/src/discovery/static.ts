import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Discovery } from './discovery.ts'

/**
 * A fixed list of replica URLs from configuration, optionally extended by a file (one URL per line, `#` comments)
 * that is re-read when it changes or on SIGHUP, so replicas can join and leave without a restart.
 */
export class StaticDiscovery implements Discovery {
  readonly mode = 'static'
  readonly #urls: string[]
  readonly #file: string | undefined
  readonly #log: FastifyBaseLogger
  #onTargets: (urls: string[]) => void = () => {}
  #watcher: FSWatcher | undefined

  constructor(urls: string[], file: string | undefined, log: FastifyBaseLogger) {
    this.#urls = urls
    this.#file = file
    this.#log = log
  }

  async start(onTargets: (urls: string[]) => void): Promise<void> {
    this.#onTargets = onTargets
    await this.refresh()
    // The folder, not the file: a file replaced by a rename (how it is written atomically) is a new file, and a
    // watch on the old one would never fire again.
    const file = this.#file
    if (file)
      this.#watcher = watch(dirname(file), (_event, name) => {
        if (name === null || name === basename(file)) void this.refresh()
      })
  }

  async refresh(): Promise<void> {
    let fromFile: string[] = []
    if (this.#file) {
      try {
        fromFile = parseUrlList(await readFile(this.#file, 'utf8'))
      } catch (error) {
        this.#log.warn({ err: error, file: this.#file }, 'cannot read the replicas file; keeping the last list')
        return
      }
    }
    this.#onTargets([...new Set([...this.#urls, ...fromFile])])
  }

  async stop(): Promise<void> {
    this.#watcher?.close()
  }
}

/** One http(s) URL per line; blank lines and `#` comments ignored; anything else is reported and skipped. */
export function parseUrlList(text: string): string[] {
  const urls: string[] = []
  for (const line of text.split('\n')) {
    const entry = line.replace(/#.*/, '').trim()
    if (entry === '') continue
    try {
      const url = new URL(entry)
      if (url.protocol === 'http:' || url.protocol === 'https:') urls.push(url.origin)
    } catch {
      // Not a URL: skipped; the log of refresh() shows what was kept.
    }
  }
  return urls
}
