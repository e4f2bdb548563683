import * as z from 'zod'
import { departmentId, employeeId, isoTime } from '../ids.ts'
import { challengeFields } from './auth.challenge.ts'
import { employeeFields, employeeRole, employeeStatus } from './employee.create.ts'
import { defineAction } from './define.ts'

/** Changing `role` or `status` is sensitive: it needs a challenge (seed 000 §6.2). */
export const SENSITIVE_EMPLOYEE_FIELDS = ['role', 'status'] as const

export const employeeUpdates = z
  .strictObject({
    name: employeeFields.name.optional(),
    department_id: departmentId.nullable().optional(),
    manager_id: employeeId.nullable().optional(),
    skills_badge: employeeFields.skills_badge.optional(),
    role: employeeRole.optional(),
    status: employeeStatus.optional(),
  })
  .refine((u) => Object.values(u).some((v) => v !== undefined), 'must change at least one field')

export const employeeUpdate = defineAction({
  name: 'employee.update',
  request: z.object({ employee_id: employeeId, updates: employeeUpdates, ...challengeFields }),
  reply: z.object({ employee_id: employeeId, updated_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})

/** Delivered on mchat/profile/{employee_id} (seed 002 §3.18). */
export const profileChange = z.object({
  employee_id: employeeId,
  event: z.literal('updated'),
  fields: z.array(z.string()),
  profile: z.object({
    name: z.string(),
    department_id: departmentId.nullable(),
    manager_id: employeeId.nullable(),
    is_ai_agent: z.boolean(),
    skills_badge: z.array(z.string()),
    status: employeeStatus,
  }),
  updated_at: isoTime,
})
export type ProfileChange = z.infer<typeof profileChange>
