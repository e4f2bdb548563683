import type { MiddlewareHandler } from 'hono'
import { actions, employeeOfClientId } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import { checkRateLimit, type Verdict } from '../lib/rate-limit.ts'
import { fail } from '../lib/errors.ts'

/**
 * Starts the rate-limit check without waiting for it: the session lookup awaits it, so the
 * limiter and the database are asked in parallel. The key is the employee the client id names:
 * auth.bind only binds client ids of the employee's own `{employee_id}.{device_id}` scheme.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const call = c.get('call')
    const who = employeeOfClientId(call.clientId) ?? call.clientId
    const verdict = checkRateLimit(c.env, actions[call.action].limit, who, call.action)
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
