import * as z from 'zod'
import { departmentId, isoTime } from '../ids.ts'
import { challengeFields } from './auth.challenge.ts'
import { defineAction } from './define.ts'

/**
 * Seed 002 §3.6; sensitive (needs a challenge). A department that still has sub-departments or
 * employees is deleted only when `reassign_to` says where they go: another department, or null
 * for the top level. Without it the request is refused with 409 and the counts.
 */
export const departmentDelete = defineAction({
  name: 'department.delete',
  request: z.object({
    department_id: departmentId,
    reassign_to: departmentId.nullable().optional(),
    ...challengeFields,
  }),
  reply: z.object({
    department_id: departmentId,
    deleted_at: isoTime,
    reassigned_to: departmentId.nullable(),
    moved_departments: z.number().int(),
    moved_employees: z.number().int(),
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
