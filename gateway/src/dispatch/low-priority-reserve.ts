/** How recent an interactive (normal) request must be for the reserve to apply: under load, arrivals are ms apart. */
export const INTERACTIVE_WINDOW_MS = 1000

/**
 * Whether a low-priority (batch) job may take a replica slot now. While interactive requests are arriving (one in
 * the last INTERACTIVE_WINDOW_MS), only if `reserve` slots stay free for them after it does: a slot taken cannot be
 * taken back (an attempt is not preempted), so without a reserve an interactive request arriving while batch work
 * fills every slot waits for a batch image to finish. With no interactive traffic, batch work may use every slot.
 * The reserve is capped at all slots but one, so a one-slot pool still runs batch work.
 */
export function mayStartLowPriority(
  totalSlots: number,
  busy: number,
  reserve: number,
  interactiveActive: boolean,
): boolean {
  const kept = interactiveActive ? Math.min(reserve, Math.max(0, totalSlots - 1)) : 0
  return totalSlots - busy - 1 >= kept
}
