import type { FastifyBaseLogger } from 'fastify'
import { type ServiceProcess, spawnReplica } from '../../../common/service-process.ts'
import type { Discovery } from './discovery.ts'

export interface LocalReplicasOptions {
  count: number
  /** Extra flags for every replica process. */
  args: string[]
  /** Each replica's log lines (JSON), e.g. to print them with the gateway's. */
  onLog?: (line: string) => void
  /** Wait before restarting a replica that died, doubled per consecutive crash (capped at 30 s). */
  restartDelayMs?: number
}

interface Managed {
  id: string
  process: ServiceProcess | undefined
  /** Set when we stop it on purpose, so its exit is not mistaken for a crash. */
  stopping: boolean
  crashes: number
}

/**
 * `local` discovery: the gateway runs its replicas as child processes on free ports (what `npm start` uses). A
 * replica that dies is restarted. `scaleTo` adds or removes replicas; a removed one leaves the target list first
 * (so the gateway drains it), then gets SIGTERM, which makes it finish what it has.
 */
export class LocalReplicas implements Discovery {
  readonly mode = 'local'
  readonly #options: LocalReplicasOptions
  readonly #log: FastifyBaseLogger
  readonly #replicas: Managed[] = []
  #onTargets: (urls: string[]) => void = () => {}
  #nextId = 1
  #stopped = false

  constructor(options: LocalReplicasOptions, log: FastifyBaseLogger) {
    this.#options = options
    this.#log = log
  }

  get count(): number {
    return this.#replicas.filter((r) => !r.stopping).length
  }

  async start(onTargets: (urls: string[]) => void): Promise<void> {
    this.#onTargets = onTargets
    this.#publish()
    // Replicas start in the background: the gateway serves /healthz (and 503 for predictions) meanwhile.
    void this.scaleTo(this.#options.count)
  }

  async refresh(): Promise<void> {
    this.#publish()
  }

  /** Starts or stops replicas until `count` are running or starting. Resolves when new ones are ready. */
  async scaleTo(count: number, waitDrained: (url: string) => Promise<void> = async () => {}): Promise<void> {
    const active = this.#replicas.filter((r) => !r.stopping)
    const starting: Promise<void>[] = []
    for (let i = active.length; i < count; i++) starting.push(this.#launch(this.#manage()))
    for (const replica of active.slice(count).reverse()) starting.push(this.#retire(replica, waitDrained))
    await Promise.all(starting)
  }

  /** The running replica processes (for operators, and for fault tests that kill one). */
  get processes(): { id: string; url: string; pid: number }[] {
    return this.#replicas.flatMap((r) =>
      r.process && r.process.child.pid !== undefined
        ? [{ id: r.id, url: r.process.url, pid: r.process.child.pid }]
        : [],
    )
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#replicas.map((r) => this.#terminate(r)))
  }

  terminateNow(): void {
    this.#stopped = true
    for (const managed of this.#replicas) managed.process?.child.kill('SIGTERM')
  }

  #manage(): Managed {
    const managed: Managed = { id: `local-${this.#nextId++}`, process: undefined, stopping: false, crashes: 0 }
    this.#replicas.push(managed)
    return managed
  }

  async #launch(managed: Managed): Promise<void> {
    try {
      const child = await spawnReplica({
        // Out of the terminal's process group: Ctrl-C is for the gateway, which drains and then stops its replicas.
        ownProcessGroup: true,
        // JSON into the pipe whatever LOG_FORMAT says; the gateway renders it with its own lines (onLog).
        // Not the gateway's own credentials nor its metrics port, should they be in the environment it passes on: local
        // replicas listen on 127.0.0.1 and take only this gateway's requests (no configuration), and each would try to
        // bind that one port.
        args: [
          '--replica-id',
          managed.id,
          '--log-format',
          'json',
          '--tokens-file',
          'none',
          '--metrics-port',
          'none',
          ...this.#options.args,
        ],
        onLog: this.#options.onLog,
      })
      if (managed.stopping || this.#stopped) {
        child.child.kill('SIGTERM')
        return
      }
      managed.process = child
      managed.crashes = 0
      this.#log.info({ replica: managed.id, url: child.url }, 'local replica started')
      this.#publish()
      void child.exited.then((code) => this.#onExit(managed, code))
    } catch (error) {
      this.#log.error({ err: error, replica: managed.id }, 'local replica failed to start')
      void this.#onExit(managed, 'start failure')
    }
  }

  async #onExit(managed: Managed, code: number | string): Promise<void> {
    managed.process = undefined
    this.#publish()
    if (managed.stopping || this.#stopped) return
    managed.crashes++
    const delay = Math.min(30_000, (this.#options.restartDelayMs ?? 500) * 2 ** (managed.crashes - 1))
    this.#log.warn({ replica: managed.id, code, restart_in_ms: delay }, 'local replica exited; restarting')
    setTimeout(() => {
      if (!managed.stopping && !this.#stopped) void this.#launch(managed)
    }, delay)
  }

  async #retire(managed: Managed, waitDrained: (url: string) => Promise<void>): Promise<void> {
    managed.stopping = true
    const url = managed.process?.url
    this.#publish()
    if (url) await waitDrained(url)
    await this.#terminate(managed)
    this.#replicas.splice(this.#replicas.indexOf(managed), 1)
  }

  async #terminate(managed: Managed): Promise<void> {
    managed.stopping = true
    const running = managed.process
    if (!running) return
    running.child.kill('SIGTERM')
    await running.exited
  }

  #publish(): void {
    const urls = this.#replicas.filter((r) => !r.stopping && r.process).map((r) => r.process!.url)
    this.#onTargets(urls)
  }
}
