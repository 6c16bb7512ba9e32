import type { Priority } from './job.ts'

export interface QueueLimits {
  maxCount: number
  maxBytes: number
  /** Share of the count and byte limits the low-priority lane may fill, so batch work cannot lock out interactive work. */
  lowPriorityShare: number
}

export interface Queued {
  priority: Priority
  size: number
  enqueuedAt: number
}

/** Whether a job fits in the queue now, or which bound it would cross. */
export type QueueRoom = 'ok' | 'count' | 'bytes'

/**
 * The gateway's bounded FIFO, in two lanes: `normal` is always served before `low`. Bounded on count and on bytes.
 * A job put back for a retry goes to the front of its lane and is not refused (it was already accepted).
 */
export class JobQueue<J extends Queued> {
  readonly limits: QueueLimits
  readonly #lanes: Record<Priority, J[]> = { normal: [], low: [] }
  #bytes = 0
  #lowBytes = 0

  constructor(limits: QueueLimits) {
    this.limits = limits
  }

  get size(): number {
    return this.#lanes.normal.length + this.#lanes.low.length
  }

  get bytes(): number {
    return this.#bytes
  }

  laneSize(priority: Priority): number {
    return this.#lanes[priority].length
  }

  /** How many jobs of this priority the queue holds at most. */
  capacity(priority: Priority): number {
    const { maxCount, lowPriorityShare } = this.limits
    return priority === 'low' ? Math.max(1, Math.floor(maxCount * lowPriorityShare)) : maxCount
  }

  /** Whether a job of this priority and size would fit now. */
  room(priority: Priority, size: number): QueueRoom {
    const { maxCount, maxBytes, lowPriorityShare } = this.limits
    if (this.size + 1 > maxCount) return 'count'
    if (this.#bytes + size > maxBytes) return 'bytes'
    if (priority === 'low') {
      if (this.#lanes.low.length + 1 > this.capacity('low')) return 'count'
      if (this.#lowBytes + size > maxBytes * lowPriorityShare) return 'bytes'
    }
    return 'ok'
  }

  /** Appends the job if it fits; returns why not otherwise. */
  push(job: J): QueueRoom {
    const room = this.room(job.priority, job.size)
    if (room === 'ok') this.#add(job, 'back')
    return room
  }

  /** Puts an already-accepted job back at the front of its lane (a retry). */
  pushFront(job: J): void {
    this.#add(job, 'front')
  }

  /** The next job: the oldest normal one, else the oldest low one. */
  shift(): J | undefined {
    const job = this.#lanes.normal.shift() ?? this.#lanes.low.shift()
    if (job) this.#account(job, -1)
    return job
  }

  /** Removes a job wherever it is (client gone, deadline passed). */
  remove(job: J): boolean {
    const lane = this.#lanes[job.priority]
    const at = lane.indexOf(job)
    if (at === -1) return false
    lane.splice(at, 1)
    this.#account(job, -1)
    return true
  }

  /** The job that has waited longest, in either lane. */
  oldest(): J | undefined {
    const [normal, low] = [this.#lanes.normal[0], this.#lanes.low[0]]
    if (!normal || !low) return normal ?? low
    return low.enqueuedAt < normal.enqueuedAt ? low : normal
  }

  /** Removes and returns every job (shutdown, no replica left). */
  drain(): J[] {
    const all = [...this.#lanes.normal, ...this.#lanes.low]
    for (const job of all) this.remove(job)
    return all
  }

  #add(job: J, end: 'front' | 'back'): void {
    if (end === 'front') this.#lanes[job.priority].unshift(job)
    else this.#lanes[job.priority].push(job)
    this.#account(job, 1)
  }

  #account(job: J, sign: 1 | -1): void {
    this.#bytes += sign * job.size
    if (job.priority === 'low') this.#lowBytes += sign * job.size
  }
}
