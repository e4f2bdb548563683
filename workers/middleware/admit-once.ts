import type { Handler } from 'hono'
import { ok, type ActionName } from '../../schema/index.ts'
import type { AppEnv, Caller } from '../env.ts'
import type { OneTripHandler } from '../lib/action.ts'
import { answer } from '../lib/answer.ts'
import type { StoredReply } from '../lib/context.ts'
import { loadStored } from '../lib/context.ts'
import { openDb } from '../lib/db.ts'
import { fail } from '../lib/errors.ts'
import { replay } from '../lib/replay.ts'
import { enforce } from './rate-limit.ts'

interface Admission {
  caller: Caller | null
  stored: StoredReply | null
  target: unknown
  allowed: boolean
  admitted: boolean
  extra: unknown
}

/**
 * One statement: who the caller is, whether this (client_id, seq_id) was answered before, what
 * the request aims at, and — only if the caller is active and allowed and it is new — the stored
 * reply, and `extra`, what else the handler needs in the same trip (the AI agents a message may
 * trigger). Parameters $1..$5 are the call's; the handler's own start at $6.
 */
function admissionSql(target: string, allowed: string, extra = 'NULL'): string {
  return `WITH caller AS (
      SELECT e.employee_id, e.name, e.role, e.status
        FROM client_session s JOIN employee e ON e.employee_id = s.employee_id
       WHERE s.client_id = $1 AND (s.expires_at IS NULL OR s.expires_at > now())),
    prior AS (SELECT body_hash, reply, deliveries, facts FROM request_reply WHERE client_id = $1 AND seq_id = $2),
    gate AS (SELECT ${target} AS target, coalesce(${allowed}, false) AS allowed),
    admitted AS (
      INSERT INTO request_reply (client_id, seq_id, action, body_hash, reply)
      SELECT $1, $2, $3, $4, $5::jsonb
       WHERE NOT EXISTS (SELECT 1 FROM prior)
         AND EXISTS (SELECT 1 FROM caller WHERE status = 'active')
         AND (SELECT allowed FROM gate)
      ON CONFLICT DO NOTHING RETURNING 1)
    SELECT (SELECT row_to_json(caller) FROM caller) AS caller,
           (SELECT row_to_json(prior) FROM prior) AS stored,
           (SELECT target FROM gate) AS target,
           (SELECT allowed FROM gate) AS allowed,
           EXISTS (SELECT 1 FROM admitted) AS admitted,
           CASE WHEN EXISTS (SELECT 1 FROM admitted) THEN ${extra} END AS extra`
}

/**
 * The whole route of a conversation action after relayAuth, validateInput and rateLimit: one
 * database round trip, with the rate limiter asked in parallel. If the limiter refuses a request
 * the statement admitted, its stored reply is taken back (a second round trip, on that path only).
 */
export function admitOnce<A extends ActionName>(handler: OneTripHandler<A>): Handler<AppEnv> {
  return async function admitOnce(c) {
    const { call, input } = c.var
    const sql = openDb(c.env)
    const data = handler.prepare(input as never, new Date())
    const gate = handler.gate(input as never)
    const [rows, verdict] = await Promise.all([
      sql.query(admissionSql(gate.target, gate.allowed, gate.extra), [
        call.clientId,
        call.seqId,
        call.action,
        call.bodyHash,
        JSON.stringify(ok(data)),
        ...gate.params,
      ]),
      c.get('verdict'),
    ])
    const row = rows[0] as Admission
    c.set('caller', row.caller)
    if (row.stored) return replay(handler, row.stored, input, row.caller, call, c.env)
    if (!row.caller) fail(401, 'client is not bound: send auth.bind first')
    if (row.caller.status !== 'active') fail(403, 'employee is disabled')
    if (!row.admitted) {
      if (!row.allowed) handler.refuse(row.target, input as never)
      // Allowed but not admitted: a concurrent duplicate stored its reply first.
      const stored = await loadStored(sql, call)
      if (!stored) throw new Error('request neither admitted nor stored')
      return replay(handler, stored, input, row.caller, call, c.env)
    }
    if (!verdict.allowed) {
      await sql.query('DELETE FROM request_reply WHERE client_id = $1 AND seq_id = $2', [call.clientId, call.seqId])
      enforce(verdict)
    }
    const followUp = handler.followUp?.({
      input: input as never,
      data,
      caller: row.caller,
      call,
      env: c.env,
      sql,
      extra: row.extra,
    })
    return answer(handler.derive(input as never, data, row.caller, null), ok(data), followUp)
  }
}
