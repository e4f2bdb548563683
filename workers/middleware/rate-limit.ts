import type { MiddlewareHandler } from 'hono'
import { actions, employeeOfClientId, underscoreCandidates } from '../../schema/index.ts'
import type { AppEnv, Bindings } from '../env.ts'
import { openDb } from '../lib/db.ts'
import { checkRateLimit, type Verdict } from '../lib/rate-limit.ts'
import { fail } from '../lib/errors.ts'

/**
 * Starts the rate-limit check without waiting for it: the session lookup awaits it, so the
 * limiter and the database are asked in parallel. The key is the employee, so devices share one
 * budget: a dot-form id names it; an underscore-form id's is looked up (its owner depends on which
 * employee ids exist: workers/lib/client-owner.ts), costing one query alongside the session's.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const call = c.get('call')
    const limit = actions[call.action].limit
    const named = employeeOfClientId(call.clientId)
    const verdict =
      named !== null
        ? checkRateLimit(c.env, limit, named, call.action)
        : employeeOf(c.env, call.clientId).then((who) => checkRateLimit(c.env, limit, who, call.action))
    // Awaited later; a request refused before then must not leave an unhandled rejection.
    verdict.catch(() => {})
    c.set('verdict', verdict)
    await next()
  }
}

/** Refuses a request the limiter turned down: 429 with when to retry, or 503 under the closed policy. */
export function enforce(verdict: Verdict): void {
  if (verdict.allowed) return
  if (verdict.reason === 'store-unavailable') fail(503, 'rate limiter unavailable; retry later')
  fail(429, `rate limit exceeded: at most ${verdict.limit} requests in this window`, {
    retry_after_ms: verdict.retry_after_ms,
    reset_at: verdict.reset_at,
  })
}

/** The bound employee, else the one the id would belong to (so guessing binds spreads over no budgets), else the id. */
async function employeeOf(env: Bindings, clientId: string): Promise<string> {
  const rows = (await openDb(env).query(
    `SELECT coalesce(
       (SELECT employee_id FROM client_session WHERE client_id = $1),
       (SELECT employee_id FROM employee WHERE employee_id = ANY($2::text[]) ORDER BY length(employee_id) DESC LIMIT 1),
       $1) AS who`,
    [clientId, underscoreCandidates(clientId)],
  )) as Array<{ who: string }>
  return rows[0]?.who ?? clientId
}
