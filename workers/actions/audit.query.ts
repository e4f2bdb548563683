import type { z } from 'zod'
import type { auditEntry } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { requireOrgAdmin } from '../lib/permissions.ts'

type Entry = z.infer<typeof auditEntry>

/**
 * Compliance queries (seed 000 §6.3), org admins only: newest first, keyset-paginated by
 * audit_id, so pages stay stable while new entries arrive.
 */
export default defineHandler({
  action: 'audit.query',
  // Who looked at the audit log, and for what, is itself on the record (seed 000 §6.3).
  audit: (input, data) => ({
    params: {
      operator_id: input.operator_id ?? null,
      action_name: input.action_name ?? null,
      since: input.since ?? null,
      until: input.until ?? null,
      limit: input.limit,
      cursor: input.cursor ?? null,
      entries: data?.entries.length ?? null,
    },
  }),
  async load(input, sql) {
    // ORDER BY names the column: a bare `audit_id` would be the text output column ('9' > '10').
    return (await sql.query(
      `SELECT audit_id::text AS audit_id, operator_employee_id, client_id, action, params, result_code,
              to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts
         FROM audit_log
        WHERE ($1::text IS NULL OR operator_employee_id = $1)
          AND ($2::text IS NULL OR action = $2)
          AND ($3::timestamptz IS NULL OR ts >= $3)
          AND ($4::timestamptz IS NULL OR ts < $4)
          AND ($5::bigint IS NULL OR audit_id < $5)
        ORDER BY audit_log.audit_id DESC
        LIMIT $6`,
      [
        input.operator_id ?? null,
        input.action_name ?? null,
        input.since ?? null,
        input.until ?? null,
        input.cursor ?? null,
        input.limit + 1,
      ],
    )) as Entry[]
  },
  async handle({ input, caller, loaded }) {
    requireOrgAdmin(caller, 'query the audit log')
    const entries = loaded.slice(0, input.limit)
    return { data: { entries, next_cursor: loaded.length > input.limit ? entries.at(-1)!.audit_id : null } }
  },
})
