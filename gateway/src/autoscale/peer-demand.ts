import { request } from 'undici'
import { bearerHeader } from '../../../common/auth/token-set.ts'
import { freshPeers, type PeerReport } from './combine-demand.ts'
import type { ScalingInputs } from './desired-replicas.ts'

export interface PeerDemandOptions {
  /** This gateway's identity: its own answer (its address is among the peers') is left out. */
  self: string
  /** The gateways' base URLs now (every address of a headless Service, or a static list). */
  list: () => Promise<string[]>
  /** Reports older than this no longer count. */
  maxAgeMs: number
  /** Each peer's GET /autoscale must answer within this. */
  timeoutMs: number
  /** The token presented to peers (PEER_TOKEN_FILE, as it reads now): their /autoscale needs an admin token. */
  token?: () => string | undefined
  /** Told each time a peer refuses the token (401/403) or accepts it again: a wrong token must not go unnoticed. */
  onAuthChange?: (url: string, refused: number | undefined) => void
}

const INPUT_FIELDS = [
  'arrivalRateShort',
  'arrivalRateLong',
  'serviceTimeS',
  'backlog',
  'readyReplicas',
  'slotsPerReplica',
  'startupS',
] as const

/** A peer's `local_inputs` if it is one (plain finite numbers where the policy needs them), else undefined. */
export function parsePeerInputs(value: unknown): ScalingInputs | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  for (const field of INPUT_FIELDS)
    if (typeof record[field] !== 'number' || !Number.isFinite(record[field]) || (record[field] as number) < 0)
      return undefined
  for (const field of ['serviceTimeCv2', 'arrivalTrend'] as const)
    if (record[field] !== undefined && (typeof record[field] !== 'number' || !Number.isFinite(record[field])))
      return undefined
  return record as unknown as ScalingInputs
}

/**
 * What the other gateways measure of their own share of the traffic, fetched from their GET /autoscale
 * (`local_inputs`: what each gateway saw itself, never a sum, so nothing is counted twice however the reports
 * travel). Refreshed in the background once per autoscaler tick; the tick reads the cache.
 */
export class PeerDemand {
  readonly options: PeerDemandOptions
  readonly #clock: () => number
  #reports: PeerReport[] = []
  #refreshing: Promise<void> | undefined
  #asked = false
  readonly #refused = new Map<string, number>()

  constructor(options: PeerDemandOptions, clock: () => number = Date.now) {
    this.options = options
    this.#clock = clock
  }

  /** The peers' inputs that count at `now` (fresh, one per gateway, not this one). */
  peers(now = this.#clock()): ScalingInputs[] {
    return freshPeers(this.#reports, this.options.self, now, this.options.maxAgeMs)
  }

  /** Whether the peers have been asked at least once (before that, this gateway knows only its own share). */
  get asked(): boolean {
    return this.#asked
  }

  /** Fetch every peer once (a refresh still under way is joined, not doubled). Never throws. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#fetchAll().finally(() => {
      this.#asked = true
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  async #fetchAll(): Promise<void> {
    let urls: string[]
    try {
      urls = await this.options.list()
    } catch {
      return // a failed lookup keeps the last reports until they age out
    }
    const fetched = await Promise.all(urls.map((url) => this.#fetch(url)))
    const now = this.#clock()
    this.#reports = [
      ...this.#reports.filter((r) => now - r.at <= this.options.maxAgeMs),
      ...fetched.filter((r) => r !== undefined),
    ]
  }

  async #fetch(url: string): Promise<PeerReport | undefined> {
    try {
      const token = this.options.token?.()
      const response = await request(`${url}/autoscale`, {
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: bearerHeader(token),
      })
      const body = (await response.body.json()) as { gateway?: unknown; local_inputs?: unknown }
      const refused = response.statusCode === 401 || response.statusCode === 403 ? response.statusCode : undefined
      if (refused !== this.#refused.get(url)) {
        if (refused === undefined) this.#refused.delete(url)
        else this.#refused.set(url, refused)
        this.options.onAuthChange?.(url, refused)
      }
      if (response.statusCode !== 200 || typeof body.gateway !== 'string') return undefined
      const inputs = parsePeerInputs(body.local_inputs)
      return inputs && { gateway: body.gateway, inputs, at: this.#clock() }
    } catch {
      return undefined // a peer starting, stopping or gone: it counts for nothing until it answers
    }
  }
}
