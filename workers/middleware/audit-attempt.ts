import type { MiddlewareHandler } from 'hono'
import type { ActionName } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import type { AnyHandler } from '../lib/action.ts'
import { auditWrite } from '../lib/context.ts'
import { openDb } from '../lib/db.ts'
import { errorReply } from '../lib/errors.ts'

/**
 * Refused attempts of an audited action are audited too (seed 000 §6.3), after the refusal's
 * transaction rolled back. Rate-limit refusals are not: a flood must not flood the audit log.
 * Successes are audited inside the action's own transaction (lib/run.ts).
 */
export function auditAttempt<A extends ActionName>(handler: AnyHandler<A>): MiddlewareHandler<AppEnv> {
  const audit = 'audit' in handler ? handler.audit : undefined
  return async function auditAttempt(c, next) {
    await next()
    if (!audit || !c.error) return
    const { code, message } = errorReply(c.error)
    if (code === 429) return
    const input = c.get('input')
    const summary = input === undefined ? { params: {} } : audit(input as never, null)
    const operator = summary.operator ?? c.get('caller')?.employee_id ?? null
    try {
      await auditWrite(openDb(c.env), c.get('call'), operator, { ...summary.params, error: message }, code)
    } catch (err) {
      console.error(`audit of a refused ${c.get('call').action} failed: ${(err as Error).message}`)
    }
  }
}
