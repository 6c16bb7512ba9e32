import type { Priority } from './job.ts'

export interface QueueLimits {
  maxCount: number
  /** Bytes of queued bodies and of bodies still arriving for it (reserved at admission), together. */
  maxBytes: number
  /** Bytes of bodies still arriving, at most (within maxBytes): what uploads in progress may hold. */
  maxReceivingBytes: number
  /** Share of the count and byte limits the low-priority lane may fill, so batch work cannot lock out interactive work. */
  lowPriorityShare: number
}

export interface Queued {
  priority: Priority
  size: number
  enqueuedAt: number
}

/** Whether a job fits in the queue now, or which bound it would cross. */
export type QueueRoom = 'ok' | 'count' | 'bytes' | 'receiving'

/**
 * Bytes promised to one body still arriving: counted against the queue's byte bound from admission (its declared
 * Content-Length, or what has arrived of a chunked body) until it is released, which its job does just before it
 * enters the queue (so the bytes pass from promised to queued at once), or the request does when it fails.
 */
export interface ByteReservation {
  readonly priority: Priority
  readonly bytes: number
  readonly released: boolean
}

class Reservation implements ByteReservation {
  readonly priority: Priority
  bytes: number
  released = false
  constructor(priority: Priority, bytes: number) {
    this.priority = priority
    this.bytes = bytes
  }
}

/**
 * The gateway's bounded FIFO, in two lanes: `normal` is always served before `low`. Bounded on count and on bytes.
 * A job put back for a retry goes to the front of its lane and is not refused (it was already accepted).
 * The byte bound also covers bodies still arriving: admission reserves their bytes here (`reserve`, `grow`), so
 * that bodies being received plus bodies queued never exceed `maxBytes` (retries aside), and bodies being received
 * never exceed `maxReceivingBytes`: a burst of uploads is refused before its bodies are read, not after.
 */
export class JobQueue<J extends Queued> {
  readonly limits: QueueLimits
  readonly #lanes: Record<Priority, J[]> = { normal: [], low: [] }
  #bytes = 0
  #lowBytes = 0
  /** Bytes reserved by bodies still arriving, all lanes and the low lane's. */
  #reserved = 0
  #lowReserved = 0

  constructor(limits: QueueLimits) {
    this.limits = limits
  }

  get size(): number {
    return this.#lanes.normal.length + this.#lanes.low.length
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Bytes reserved by bodies still arriving. */
  get reserved(): number {
    return this.#reserved
  }

  laneSize(priority: Priority): number {
    return this.#lanes[priority].length
  }

  /** How many jobs of this priority the queue holds at most. */
  capacity(priority: Priority): number {
    const { maxCount, lowPriorityShare } = this.limits
    return priority === 'low' ? Math.max(1, Math.floor(maxCount * lowPriorityShare)) : maxCount
  }

  /** Whether a job of this priority and size would fit now (bytes reserved by bodies still arriving count as taken). */
  room(priority: Priority, size: number): QueueRoom {
    const { maxCount } = this.limits
    if (this.size + 1 > maxCount) return 'count'
    if (priority === 'low' && this.#lanes.low.length + 1 > this.capacity('low')) return 'count'
    return this.#byteRoom(priority, size)
  }

  /** Whether a body of this size may start arriving now: room in the queue for it, and under the receiving bound. */
  roomToReceive(priority: Priority, size: number): QueueRoom {
    const room = this.room(priority, size)
    if (room !== 'ok') return room
    return this.#reserved + size > this.limits.maxReceivingBytes ? 'receiving' : 'ok'
  }

  /** Reserves `size` bytes for a body about to arrive, if `roomToReceive` allows; returns why not otherwise. */
  reserve(priority: Priority, size: number): ByteReservation | Exclude<QueueRoom, 'ok'> {
    const room = this.roomToReceive(priority, size)
    if (room !== 'ok') return room
    const reservation = new Reservation(priority, 0)
    this.#hold(reservation, size)
    return reservation
  }

  /** Grows a reservation by `more` bytes (a chunked body arriving), if the byte bounds allow; else changes nothing. */
  grow(reservation: ByteReservation, more: number): QueueRoom {
    const own = this.#own(reservation)
    if (own.released) throw new Error('grow of a released reservation')
    const room = this.#byteRoom(own.priority, more)
    if (room !== 'ok') return room
    if (this.#reserved + more > this.limits.maxReceivingBytes) return 'receiving'
    this.#hold(own, more)
    return 'ok'
  }

  /** Gives a reservation's bytes back (its job is about to be queued, or its request failed). Idempotent. */
  release(reservation: ByteReservation): void {
    const own = this.#own(reservation)
    if (own.released) return
    this.#hold(own, -own.bytes)
    own.released = true
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

  #byteRoom(priority: Priority, size: number): QueueRoom {
    const { maxBytes, lowPriorityShare } = this.limits
    if (this.#bytes + this.#reserved + size > maxBytes) return 'bytes'
    if (priority === 'low' && this.#lowBytes + this.#lowReserved + size > maxBytes * lowPriorityShare) return 'bytes'
    return 'ok'
  }

  #own(reservation: ByteReservation): Reservation {
    if (!(reservation instanceof Reservation)) throw new Error('not a reservation made by a queue')
    return reservation
  }

  #hold(reservation: Reservation, bytes: number): void {
    reservation.bytes += bytes
    this.#reserved += bytes
    if (reservation.priority === 'low') this.#lowReserved += bytes
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
