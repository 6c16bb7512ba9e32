/**
 * Who may do what. A token carries one role; each route declares the role it needs (`config: { role }`), and a
 * route that declares none needs `admin` (a route added without thought is closed, not open).
 * - `admin`: everything, including what reveals or changes operational state (metrics, replicas, autoscale, docs).
 * - `batch`: start, list, read and cancel its own batch jobs, and predict.
 * - `predict`: predictions only (and what the web page shows while predicting).
 * `open` routes (health probes, the web page's files) never ask for a token.
 */
export const ROLES = ['admin', 'batch', 'predict'] as const
export type Role = (typeof ROLES)[number]
export type RequiredRole = Role | 'open'

const RANK: Record<Role, number> = { predict: 0, batch: 1, admin: 2 }

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

/** Whether a token of role `held` may use a route that needs `required` (roles are nested: admin ⊃ batch ⊃ predict). */
export function roleAllows(held: Role, required: Role): boolean {
  return RANK[held] >= RANK[required]
}

export type AccessDecision = 'allow' | 'unauthorized' | 'forbidden'

export interface AccessQuestion {
  /** What the route needs (undefined: it declared nothing, so admin). */
  required: RequiredRole | undefined
  /** Whether tokens are configured at all; without them every route is open (see the README's security section). */
  enforced: boolean
  /** Whether predictions need a token (PREDICT_AUTH); otherwise `predict` routes are open. */
  predictNeedsToken: boolean
  /** The role of the token presented, `undefined` when none was, `null` when one was but matches no token. */
  presented: Role | null | undefined
}

/** The one decision on every request: allowed, 401 (no valid credential) or 403 (valid, but its role is too low). */
export function decideAccess(q: AccessQuestion): AccessDecision {
  const required = q.required ?? 'admin'
  if (!q.enforced || required === 'open') return 'allow'
  if (required === 'predict' && !q.predictNeedsToken) return 'allow'
  if (q.presented === undefined || q.presented === null) return 'unauthorized'
  return roleAllows(q.presented, required) ? 'allow' : 'forbidden'
}
