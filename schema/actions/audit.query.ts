import * as z from 'zod'
import { employeeId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

export const AUDIT_PAGE_MAX = 500

export const auditEntry = z.object({
  audit_id: z.string(),
  operator_employee_id: z.string().nullable(),
  client_id: z.string().nullable(),
  action: z.string(),
  params: z.unknown(),
  result_code: z.number().int(),
  ts: isoTime,
})

/**
 * Compliance queries over audit_log (seed 000 §6.3), org admins only. Newest first; pass the
 * reply's `next_cursor` as `cursor` for the next page.
 */
export const auditQuery = defineAction({
  name: 'audit.query',
  request: z
    .object({
      operator_id: employeeId.optional(),
      // Not `action`: that is the envelope's field.
      action_name: z.string().min(1).max(64).optional(),
      since: isoTime.optional(),
      until: isoTime.optional(),
      limit: z.number().int().min(1).max(AUDIT_PAGE_MAX).default(100),
      cursor: z
        .string()
        .regex(/^\d{1,19}$/, 'must be a next_cursor from a previous page')
        .optional(),
    })
    .refine((q) => !q.since || !q.until || Date.parse(q.since) <= Date.parse(q.until), {
      message: 'since must not be after until',
      path: ['since'],
    }),
  reply: z.object({ entries: z.array(auditEntry), next_cursor: z.string().nullable() }),
  session: 'required',
  effect: 'read',
  limit: 'management',
})
