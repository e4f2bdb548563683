import type { Handler } from 'hono'
import { NeonDbError } from '@neondatabase/serverless'
import { actions, ok, type ActionName } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import type { ActionContext, ActionHandler, Write } from './action.ts'
import { answer } from './answer.ts'
import { spendChallenge } from './challenge.ts'
import { auditWrite, loadStored, storeReply } from './context.ts'
import { concat, replay } from './replay.ts'

/**
 * The route handler of one action, after relayAuth, validateInput, rateLimit and resolveSession:
 * the effect, its audit row, the spent challenge and the stored reply commit in one transaction.
 */
export function runAction<A extends ActionName, L>(handler: ActionHandler<A, L>): Handler<AppEnv> {
  const contract = actions[handler.action]
  return async function runAction(c) {
    const { call, input, caller, sql, loaded } = c.var
    const ctx = { input, caller, call, env: c.env, sql, loaded, now: new Date() } as ActionContext<A, L>
    const outcome = await handler.handle(ctx)
    const reply = ok(outcome.data)
    const kept = outcome.deliveries ?? []

    if (contract.effect === 'write') {
      const writes: Write[] = []
      if (handler.sensitive?.(input as never))
        writes.push((await spendChallenge(sql, input as never, caller!.employee_id, call.action)).write)
      writes.push(...(outcome.writes ?? []))
      if (handler.audit) {
        const { params, operator } = handler.audit(input as never, outcome.data)
        writes.push(auditWrite(sql, call, operator ?? caller?.employee_id ?? null, params, reply.code))
      }
      writes.push(storeReply(sql, call, handler.store ? ok(handler.store(outcome.data)) : reply, kept, outcome.facts))
      try {
        await sql.transaction(writes)
      } catch (err) {
        // A concurrent duplicate won the race to store its reply: answer with that one.
        if (err instanceof NeonDbError && err.constraint === 'request_reply_pkey') {
          const stored = await loadStored(sql, call)
          if (stored) return replay(handler, stored, input, caller, call, c.env)
        }
        throw err
      }
    } else if (handler.audit) {
      // A read that is audited (audit.query) stores no reply: the audit row is its only write.
      const { params, operator } = handler.audit(input as never, outcome.data)
      await auditWrite(sql, call, operator ?? caller?.employee_id ?? null, params, reply.code)
    }
    if (outcome.after)
      await outcome.after().catch((err: Error) => console.error(`${call.action}: after commit: ${err.message}`))
    const derived = handler.derive && caller ? handler.derive(input as never, outcome.data, caller, outcome.facts) : []
    return answer(concat(kept, derived), reply)
  }
}
