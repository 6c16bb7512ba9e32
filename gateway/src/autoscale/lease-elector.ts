import { EventEmitter } from 'node:events'
import type { KubernetesRequest } from './kubernetes-api.ts'
import { electionStep, isLeading, type LeaseObservation, type LeaseSpec, observe, released } from './lease-rules.ts'

export interface LeaseElectorOptions {
  namespace: string
  /** The Lease's name (one per replica Deployment that gateways scale). */
  name: string
  /** This gateway's holderIdentity (its pod name). */
  identity: string
  /** How long a lease nobody renews stays someone's (client-go's LeaseDuration). */
  leaseDurationS: number
  /** A leader that has not renewed for this long stops acting (RenewDeadline; must be below the duration). */
  renewDeadlineS: number
  /** How often each gateway tries to acquire or renew (RetryPeriod). */
  retryPeriodS: number
}

export interface LeaseElectorEvents {
  /** Leadership won (true) or lost (false), as seen after a round. */
  leading: [leading: boolean]
  error: [error: unknown]
}

interface LeaseObject {
  metadata?: { resourceVersion?: string }
  spec?: LeaseSpec
}

/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go does it: every retry period, read the Lease;
 * create it if there is none, renew it if ours, take it over if it has been released or has not changed for its
 * duration by our clock; write with the resourceVersion read, so of two gateways racing for it the API server lets
 * exactly one win (the other gets 409 Conflict). `isLeader` holds only while the last successful write is within
 * the renew deadline (see lease-rules.ts). `stop` releases a held lease, so a rolling update hands over at once
 * instead of after the lease's duration.
 */
export class LeaseElector extends EventEmitter<LeaseElectorEvents> {
  readonly options: LeaseElectorOptions
  readonly #call: KubernetesRequest
  readonly #clock: () => number
  #observation: LeaseObservation | undefined
  #resourceVersion: string | undefined
  #lastRenewAt: number | undefined
  #holder: string | undefined
  #wasLeading = false
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false

  constructor(call: KubernetesRequest, options: LeaseElectorOptions, clock: () => number = Date.now) {
    super()
    if (!(options.renewDeadlineS < options.leaseDurationS))
      throw new Error('the renew deadline must be shorter than the lease duration')
    this.#call = call
    this.options = options
    this.#clock = clock
  }

  get #collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`
  }

  get #path(): string {
    return `${this.#collection}/${encodeURIComponent(this.options.name)}`
  }

  /** Whether this gateway leads now: it may write the Deployment's scale. */
  isLeader(now = this.#clock()): boolean {
    return isLeading(this.#lastRenewAt, now, this.options.renewDeadlineS)
  }

  /** The holder last seen (this gateway's identity while it leads). */
  get holder(): string | undefined {
    return this.#holder
  }

  /** One round: read, decide, write. Errors are emitted, never thrown: a round that fails just does not renew. */
  step(): Promise<void> {
    this.#running ??= this.#round()
      .catch((error) => void this.emit('error', error))
      .finally(() => {
        this.#running = undefined
        const leading = this.isLeader()
        if (leading !== this.#wasLeading) {
          this.#wasLeading = leading
          this.emit('leading', leading)
        }
      })
    return this.#running
  }

  async #round(): Promise<void> {
    // The time the round starts: a renewal counts from before it was sent, never later than anyone observes it.
    const now = this.#clock()
    const read = await this.#call('GET', this.#path)
    let exists = false
    if (read.status === 200) {
      const lease = read.body as LeaseObject
      exists = true
      this.#resourceVersion = lease.metadata?.resourceVersion
      this.#observation = observe(this.#observation, lease.spec ?? {}, now)
    } else if (read.status === 404) {
      this.#observation = undefined
      this.#resourceVersion = undefined
    } else throw new Error(`reading lease ${this.options.name}: HTTP ${read.status} ${read.text.slice(0, 200)}`)

    const step = electionStep(this.#observation, this.options.identity, now, this.options.leaseDurationS)
    if (step.action === 'follow') {
      this.#holder = step.holder
      return
    }
    const written = exists
      ? await this.#write('PUT', this.#path, step.spec)
      : await this.#write('POST', this.#collection, step.spec)
    if (!written) return
    this.#lastRenewAt = now
    this.#holder = this.options.identity
    this.#observation = observe(this.#observation, written.spec ?? step.spec, now)
  }

  /** Writes a spec at the resourceVersion read; undefined when another gateway wrote first (409). */
  async #write(method: 'POST' | 'PUT', path: string, spec: LeaseSpec): Promise<LeaseObject | undefined> {
    const metadata = {
      name: this.options.name,
      namespace: this.options.namespace,
      ...(method === 'PUT' ? { resourceVersion: this.#resourceVersion } : {}),
    }
    const response = await this.#call(method, path, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata,
      spec,
    })
    if (response.status === 409) return undefined
    if (response.status >= 300)
      throw new Error(`writing lease ${this.options.name}: HTTP ${response.status} ${response.text.slice(0, 200)}`)
    const lease = response.body as LeaseObject
    this.#resourceVersion = lease.metadata?.resourceVersion
    return lease
  }

  /** Rounds every retry period until `stop`. */
  start(): void {
    const loop = () => {
      if (this.#stopped) return
      void this.step().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, this.options.retryPeriodS * 1000)
      })
    }
    loop()
  }

  /** No more rounds; a lease held is released (no holder), so another gateway takes over on its next round. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
    if (!this.isLeader() || !this.#observation) return
    this.#lastRenewAt = undefined
    try {
      await this.#write('PUT', this.#path, released(this.#observation.spec, this.#clock()))
    } catch (error) {
      this.emit('error', error)
    }
    if (this.#wasLeading) {
      this.#wasLeading = false
      this.emit('leading', false)
    }
  }
}
