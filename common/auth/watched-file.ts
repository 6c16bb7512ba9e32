import { EventEmitter } from 'node:events'
import { type FSWatcher, readFileSync, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'

export interface WatchedFileLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

/**
 * A small file whose parsed value a service keeps and re-reads when it changes or when asked (SIGHUP), like the
 * replicas file of static discovery: a file that cannot be read or parsed is reported and the last good value kept,
 * so a half-written file never locks everyone out. The first read is synchronous and throws (a service must not start
 * on a file it cannot read). Emits `reloaded` after each successful re-read, `rejected` after a refused one.
 */
export class WatchedFile<T> extends EventEmitter<{ reloaded: [T]; rejected: [Error] }> {
  readonly path: string
  readonly #parse: (text: string) => T
  readonly #log: WatchedFileLog
  readonly #what: string
  #value: T
  #watcher: FSWatcher | undefined
  #reading: Promise<void> | undefined
  #again = false

  constructor(path: string, parse: (text: string) => T, log: WatchedFileLog, what: string) {
    super()
    this.path = path
    this.#parse = parse
    this.#log = log
    this.#what = what
    this.#value = parse(readFileSync(path, 'utf8'))
    // The folder, not the file: a file replaced by a rename (an atomic write, a Kubernetes Secret update) is a new
    // file, and a watch on the old one would never fire again.
    this.#watcher = watch(dirname(path), (_event, name) => {
      if (name === null || name === basename(path) || name === '..data') void this.refresh()
    })
    this.#watcher.on('error', (error) => this.#log.warn({ err: error, file: path }, `cannot watch the ${what}`))
    this.#watcher.unref()
  }

  get value(): T {
    return this.#value
  }

  /** Reads the file again (a read under way is followed by one more, so the last change is never missed). */
  refresh(): Promise<void> {
    if (this.#reading) {
      this.#again = true
      return this.#reading
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined
      if (this.#again) {
        this.#again = false
        void this.refresh()
      }
    })
    return this.#reading
  }

  async #read(): Promise<void> {
    try {
      const value = this.#parse(await readFile(this.path, 'utf8'))
      this.#value = value
      this.emit('reloaded', value)
    } catch (error) {
      this.#log.warn({ err: error, file: this.path }, `cannot use the ${this.#what}; keeping the last one`)
      this.emit('rejected', error as Error)
    }
  }

  close(): void {
    this.#watcher?.close()
    this.#watcher = undefined
  }
}
