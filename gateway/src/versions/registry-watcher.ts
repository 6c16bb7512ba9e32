import { EventEmitter } from 'node:events'
import { existsSync, type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { EMBEDDED_DEFAULT_STATE, type RegistryState } from '../../../common/model-registry/state.ts'
import { parseStateText, readStateText, updateStateFile } from '../../../common/model-registry/state-file.ts'
import { stopCanary } from '../../../common/model-registry/transitions.ts'

export interface RegistryWatcherOptions {
  file: string
  /** Also re-read every this many ms: file events can be missed (network file systems, ConfigMap symlink swaps). */
  pollMs: number
}

interface RegistryEvents {
  /** A new state is in force (read from the file, or a rollback applied here). */
  change: [state: RegistryState]
  /** The file changed to something invalid: the reason; the last good state stays. */
  refused: [reason: string]
}

/**
 * The registry state this gateway routes by: read at start, re-read when the file changes (its folder is watched,
 * since writers replace the file by renaming, and Kubernetes swaps a ConfigMap's files by a symlink), and on a timer
 * as a safety net. A file that is not a valid state is refused with the reason logged, and the last good state stays
 * in force; a missing file is the embedded default.
 */
export class RegistryWatcher extends EventEmitter<RegistryEvents> {
  readonly file: string
  #state: RegistryState = EMBEDDED_DEFAULT_STATE
  /** The text last read (good or refused), so an unchanged file is neither re-applied nor re-logged. */
  #lastText: string | undefined | null = null
  #loaded = false
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<void> | undefined
  #again = false
  readonly #options: RegistryWatcherOptions
  readonly #log: FastifyBaseLogger

  constructor(options: RegistryWatcherOptions, log: FastifyBaseLogger) {
    super()
    this.file = options.file
    this.#options = options
    this.#log = log
  }

  get state(): RegistryState {
    return this.#state
  }

  async start(): Promise<void> {
    await this.reload()
    const folder = dirname(this.file)
    if (existsSync(folder)) {
      try {
        this.#watcher = watch(folder, { persistent: false }, (_event, name) => {
          // A rename into place, or Kubernetes' `..data` symlink swap: either way, read the file again.
          if (name === null || name === basename(this.file) || name.startsWith('..')) void this.reload()
        })
        this.#watcher.on('error', (error) => this.#log.warn({ err: error }, 'registry folder watch failed; polling'))
      } catch (error) {
        this.#log.warn({ err: error, file: this.file }, 'cannot watch the registry folder; polling only')
      }
    }
    this.#timer = setInterval(() => void this.reload(), this.#options.pollMs).unref()
  }

  async close(): Promise<void> {
    this.#watcher?.close()
    clearInterval(this.#timer)
    await this.#reading
  }

  /** Reads the file now; reads that overlap are folded into one more read after the current one. */
  reload(): Promise<void> {
    if (this.#reading) {
      this.#again = true
      return this.#reading
    }
    this.#reading = (async () => {
      do {
        this.#again = false
        await this.#readOnce()
      } while (this.#again)
    })().finally(() => {
      this.#reading = undefined
    })
    return this.#reading
  }

  /**
   * The automatic rollback: stops the canary of `version` here at once, then writes that to the file (from the
   * file's own current content). When the file cannot be written (a read-only ConfigMap), the rollback still holds in
   * this gateway until the file changes, and the error says what to do.
   */
  async stopCanary(name: string, version: string, reason: string): Promise<boolean> {
    const now = new Date().toISOString()
    const change = stopCanary(this.#state, name, version, now, reason)
    if (!change) return false
    this.#state = change.state
    this.emit('change', this.#state)
    try {
      await updateStateFile(
        this.file,
        (state) => stopCanary(state, name, version, now, reason) ?? { state, summary: '' },
      )
    } catch (error) {
      this.#log.error(
        { err: error, file: this.file, model: name, version },
        'could not write the rollback to the registry file: it holds in this gateway only; write the file (e.g. `npm run models -- rollback NAME`, or update the ConfigMap)',
      )
    }
    return true
  }

  async #readOnce(): Promise<void> {
    let text: string | undefined
    try {
      text = await readStateText(this.file)
    } catch (error) {
      this.#log.warn({ err: error, file: this.file }, 'cannot read the registry state file; keeping the current state')
      return
    }
    if (text === this.#lastText) return
    // Remembered good or bad: the timer re-reads an unchanged file every poll without re-applying or re-logging it.
    this.#lastText = text
    let state: RegistryState
    try {
      state = text === undefined ? EMBEDDED_DEFAULT_STATE : parseStateText(text, this.file)
    } catch (error) {
      const reason = (error as Error).message
      this.#log.error({ file: this.file, reason }, 'registry state file refused; the last good state stays in force')
      this.emit('refused', reason)
      return
    }
    this.#state = state
    // The start-up state is in the gateway's 'listening' line; later loads are news.
    if (this.#loaded) {
      this.#log.info(
        { file: this.file, models: Object.keys(state.models).join(','), exists: text !== undefined },
        'registry state reloaded',
      )
    }
    this.#loaded = true
    this.emit('change', state)
  }
}
