import type { MiddlewareHandler } from 'hono'
import { actions, type ActionName } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import type { ActionHandler } from '../lib/action.ts'
import { loadContext } from '../lib/context.ts'
import { openDb } from '../lib/db.ts'
import { fail } from '../lib/errors.ts'
import { replay } from '../lib/replay.ts'
import { enforce } from './rate-limit.ts'

/**
 * Who is calling (client_id → employee through client_session) and whether this
 * (client_id, seq_id) was answered before — one round trip, alongside the action's own reads and
 * the rate limiter. A repeat is answered here from the stored reply whatever the limiter says; an
 * unbound client gets 401, a disabled one 403.
 */
export function resolveSession<A extends ActionName, L>(handler: ActionHandler<A, L>): MiddlewareHandler<AppEnv> {
  const contract = actions[handler.action]
  return async function resolveSession(c, next) {
    const call = c.get('call')
    const input = c.get('input')
    const sql = openDb(c.env)
    const [ctx, loaded, verdict] = await Promise.all([
      loadContext(sql, call),
      handler.load?.(input as never, sql, c.env),
      c.get('verdict'),
    ])
    c.set('caller', ctx.caller)
    if (ctx.stored) return replay(handler, ctx.stored, input, ctx.caller, call, c.env)
    if (contract.session === 'required') {
      if (!ctx.caller) fail(401, 'client is not bound: send auth.bind first')
      if (ctx.caller.status !== 'active') fail(403, 'employee is disabled')
    }
    enforce(verdict)
    c.set('sql', sql)
    c.set('loaded', loaded)
    return next()
  }
}
