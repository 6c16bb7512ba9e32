import { ServiceError } from '../../common/errors.ts'

/** Where a request was dropped: before its image was decoded, or when the batch it waited for was formed. */
export type DroppedStage = 'preprocess' | 'inference'

/** Why: its client closed the connection, or its deadline passed. */
export type DropReason = 'client_closed' | 'deadline_exceeded'

/** A request dropped before work nobody waits for (counted in replica_dropped_total by stage and reason). */
export class DroppedWork extends ServiceError {
  override name = 'DroppedWork'
  readonly stage: DroppedStage
  override readonly code: DropReason
  constructor(reason: DropReason, stage: DroppedStage) {
    super(reason, DROP_MESSAGES[reason][stage])
    this.code = reason
    this.stage = stage
  }
}

const DROP_MESSAGES: Record<DropReason, Record<DroppedStage, string>> = {
  client_closed: {
    preprocess: 'the client closed the connection before the image was decoded',
    inference: 'the client closed the connection before inference started',
  },
  deadline_exceeded: {
    preprocess: 'the request deadline passed before the image was decoded',
    inference: 'the request deadline passed before inference started',
  },
}
