import type { Handler } from 'hono'
import { NeonDbError } from '@neondatabase/serverless'
import { actions, describeZodError, ok, type ActionName, type Reply, type ReplyOf } from '../../schema/index.ts'
import type { AppEnv, Caller, RelayCall } from '../env.ts'
import type { ActionContext, ActionHandler, Write } from './action.ts'
import { answer } from './answer.ts'
import { auditWrite, loadContext, loadStored, storeReply, type StoredReply } from './context.ts'
import { openDb, type Sql } from './db.ts'
import { fail } from './errors.ts'

/** The route handler of one action: input, session, exactly-once, effect, answer. */
export function runAction<A extends ActionName, L>(handler: ActionHandler<A, L>): Handler<AppEnv> {
  const contract = actions[handler.action]
  return async function serveAction(c) {
    const call = c.get('call')
    const input = parseInput(call, contract.request)
    const sql = openDb(c.env)

    const [ctx, loaded] = await Promise.all([loadContext(sql, call), handler.load?.(input as never, sql, c.env)])
    if (ctx.stored) return replay(handler, ctx.stored, input, ctx.caller, call, c.env)

    if (contract.session === 'required') {
      if (!ctx.caller) fail(401, 'client is not bound: send auth.bind first')
      if (ctx.caller.status !== 'active') fail(403, 'employee is disabled')
    }

    const now = new Date()
    const actionCtx = { input, caller: ctx.caller, call, env: c.env, sql, loaded, now } as ActionContext<A, L>
    const outcome = await handler.handle(actionCtx)
    const reply = ok(outcome.data)
    const kept = outcome.deliveries ?? []
    const derived = handler.derive && ctx.caller ? handler.derive(input as never, outcome.data, ctx.caller) : []

    if (contract.effect === 'write') {
      const writes: Write[] = [...(outcome.writes ?? [])]
      if (handler.audit) {
        const { params, operator } = handler.audit(input as never, outcome.data)
        writes.push(auditWrite(sql, call, operator ?? ctx.caller?.employee_id ?? null, params, reply.code))
      }
      const storedReply = handler.store ? ok(handler.store(outcome.data)) : reply
      writes.push(storeReply(sql, call, storedReply, kept))
      try {
        await sql.transaction(writes)
      } catch (err) {
        // A concurrent duplicate won the race to store its reply: answer with that one.
        if (err instanceof NeonDbError && err.constraint === 'request_reply_pkey') {
          const stored = await loadStored(sql, call)
          if (stored) return replay(handler, stored, input, ctx.caller, call, c.env)
        }
        throw err
      }
    }
    return answer([...kept, ...derived], reply)
  }
}

function parseInput(call: RelayCall, schema: (typeof actions)[ActionName]['request']): unknown {
  let payload: unknown
  try {
    payload = JSON.parse(new TextDecoder().decode(call.body))
  } catch {
    fail(400, 'payload is not valid JSON')
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) fail(400, 'payload must be a JSON object')
  const { action, seq_id, ...rest } = payload as Record<string, unknown>
  if (action !== call.action) fail(400, 'action: does not match the route')
  if (seq_id !== undefined && seq_id !== call.seqId) fail(400, 'seq_id: does not match the seq_id in the topic')
  const parsed = schema.safeParse(rest)
  if (!parsed.success) fail(400, describeZodError(parsed.error))
  return parsed.data
}

/** The same reply and deliveries as the first time, or 409 if the seq_id was reused for another body. */
async function replay<A extends ActionName, L>(
  handler: ActionHandler<A, L>,
  stored: StoredReply,
  input: unknown,
  caller: Caller | null,
  call: RelayCall,
  env: AppEnv['Bindings'],
) {
  if (stored.body_hash !== call.bodyHash) fail(409, 'seq_id was already used for a different request')
  const data = stored.reply.data as ReplyOf<A>
  const reply: Reply = handler.replay ? ok(await handler.replay(data, env)) : stored.reply
  const derived = handler.derive && caller ? handler.derive(input as never, data, caller) : []
  return answer([...stored.deliveries, ...derived], reply)
}

export type { Sql }
