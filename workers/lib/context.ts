import type { Delivery, Reply } from '../../schema/index.ts'
import type { Caller, RelayCall } from '../env.ts'
import type { Sql } from './db.ts'

export interface StoredReply {
  body_hash: string
  reply: Reply
  deliveries: Delivery[]
  facts: unknown
}

export interface RequestContext {
  caller: Caller | null
  stored: StoredReply | null
}

/** One round trip: who is calling (through client_session) and whether this request was answered before. */
export async function loadContext(sql: Sql, call: RelayCall): Promise<RequestContext> {
  const rows = await sql.query(
    `SELECT
       (SELECT json_build_object('employee_id', e.employee_id, 'name', e.name, 'role', e.role, 'status', e.status)
          FROM client_session s JOIN employee e ON e.employee_id = s.employee_id
         WHERE s.client_id = $1 AND (s.expires_at IS NULL OR s.expires_at > now())) AS caller,
       (SELECT json_build_object('body_hash', r.body_hash, 'reply', r.reply, 'deliveries', r.deliveries, 'facts', r.facts)
          FROM request_reply r WHERE r.client_id = $1 AND r.seq_id = $2) AS stored`,
    [call.clientId, call.seqId],
  )
  const row = rows[0] as { caller: Caller | null; stored: StoredReply | null }
  return { caller: row.caller, stored: row.stored }
}

export async function loadStored(sql: Sql, call: RelayCall): Promise<StoredReply | null> {
  const rows = await sql.query(
    'SELECT body_hash, reply, deliveries, facts FROM request_reply WHERE client_id = $1 AND seq_id = $2',
    [call.clientId, call.seqId],
  )
  return (rows[0] as StoredReply | undefined) ?? null
}

export function storeReply(sql: Sql, call: RelayCall, reply: Reply, deliveries: readonly Delivery[], facts: unknown) {
  return sql.query(
    `INSERT INTO request_reply (client_id, seq_id, action, body_hash, reply, deliveries, facts)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb)`,
    [
      call.clientId,
      call.seqId,
      call.action,
      call.bodyHash,
      JSON.stringify(reply),
      JSON.stringify(deliveries),
      facts === undefined ? null : JSON.stringify(facts),
    ],
  )
}

export function auditWrite(
  sql: Sql,
  call: RelayCall,
  operator: string | null,
  params: Record<string, unknown>,
  code: number,
) {
  return sql.query(
    'INSERT INTO audit_log (operator_employee_id, client_id, action, params, result_code) VALUES ($1, $2, $3, $4::jsonb, $5)',
    [operator, call.clientId, call.action, JSON.stringify(params, withoutNul), code],
  )
}

// jsonb cannot hold U+0000, and a refused request that carried one must still be audited.
const withoutNul = (_key: string, v: unknown) => (typeof v === 'string' ? v.replaceAll('\u0000', '\ufffd') : v)
