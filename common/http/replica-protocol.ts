/**
 * The headers of the protocol between a gateway and its replicas, named once for both sides: the replica sets them,
 * the gateway reads them (and the other way round for what it forwards), so neither can drift from the other.
 * Lower-case, as Node hands header names over.
 */

/** What a replica says of its own load on its answers, counted over every gateway that sends it work. */
export const REPLICA_LOAD_HEADERS = {
  /** On every answer: requests it holds (admitted, not yet answered), the one being answered included. */
  inflight: 'x-replica-inflight',
  /** On every answer: of those, admitted but not yet in the model (waiting behind the running batch). */
  queue: 'x-replica-queue',
  /** On a 503 replica_full: ms until a place should free (its running batch's expected end). */
  freeInMs: 'x-replica-free-in-ms',
} as const

/** What a gateway forwards with each request: the client's request id and the time left until its deadline. */
export const FORWARDED_HEADERS = {
  requestId: 'x-request-id',
  timeoutMs: 'x-timeout-ms',
} as const
