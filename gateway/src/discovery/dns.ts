import { lookup } from 'node:dns/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Discovery } from './discovery.ts'

/** Resolves a host name to all its addresses (getaddrinfo, so /etc/hosts and Docker/Kubernetes DNS both work). */
export type Resolver = (hostname: string) => Promise<string[]>

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address)

export interface DnsDiscoveryOptions {
  hostname: string
  port: number
  intervalMs: number
  resolve?: Resolver
}

/**
 * Replicas behind one DNS name with an address per replica (a Kubernetes headless Service, a Compose service with
 * several containers), re-resolved every interval. New addresses join the pool (and become routable after a
 * readiness probe); vanished ones drain. A failed lookup keeps the last known list rather than dropping every replica.
 */
export class DnsDiscovery implements Discovery {
  readonly mode = 'dns'
  readonly #options: DnsDiscoveryOptions
  readonly #resolve: Resolver
  readonly #log: FastifyBaseLogger
  #onTargets: (urls: string[]) => void = () => {}
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #last = ''

  constructor(options: DnsDiscoveryOptions, log: FastifyBaseLogger) {
    this.#options = options
    this.#resolve = options.resolve ?? systemResolver
    this.#log = log
  }

  async start(onTargets: (urls: string[]) => void): Promise<void> {
    this.#onTargets = onTargets
    await this.refresh()
    const tick = () => {
      if (this.#stopped) return
      this.#timer = setTimeout(() => void this.refresh().finally(tick), this.#options.intervalMs)
    }
    tick()
  }

  async refresh(): Promise<void> {
    let addresses: string[]
    try {
      addresses = await this.#resolve(this.#options.hostname)
    } catch (error) {
      this.#log.warn(
        { err: error, hostname: this.#options.hostname },
        'DNS lookup failed; keeping the last replica list',
      )
      return
    }
    const urls = [...new Set(addresses)].sort().map((address) => addressToUrl(address, this.#options.port))
    const key = urls.join(',')
    if (key !== this.#last)
      this.#log.info({ hostname: this.#options.hostname, replicas: urls }, 'DNS replica list changed')
    this.#last = key
    this.#onTargets(urls)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

export function addressToUrl(address: string, port: number): string {
  return address.includes(':') ? `http://[${address}]:${port}` : `http://${address}:${port}`
}
