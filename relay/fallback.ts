import { FAILURE_CODES } from './canary-analysis.ts'
import type { Route } from './routes.ts'

/**
 * Whether a canary's reply may be replaced by stable's: only a failure of the canary itself (500,
 * 503, 504: an error, a malformed answer, a refused connection, a timeout) and only before it had
 * any delivery published. Asking stable is safe because a worker answers a (client_id, seq_id) it
 * already committed with the stored reply and no second effect; after a delivery the reply must
 * reflect what clients were told.
 */
export function fallsBack(
  route: Route,
  code: number,
  delivered: boolean,
): route is Route & { fallback: NonNullable<Route['fallback']> } {
  return route.fallback !== undefined && !delivered && FAILURE_CODES.has(code)
}
