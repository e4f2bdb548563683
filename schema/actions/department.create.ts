import * as z from 'zod'
import { departmentId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

/** Field rules shared by department.create and department.update. */
export const departmentFields = {
  name: z.string().trim().min(1).max(64),
  sort_order: z.number().int().min(-1_000_000).max(1_000_000),
}

/** Seed 002 §3.6. */
export const departmentCreate = defineAction({
  name: 'department.create',
  request: z.object({
    department_id: departmentId.optional(),
    name: departmentFields.name,
    parent_id: departmentId.nullish(),
    sort_order: departmentFields.sort_order.default(0),
  }),
  reply: z.object({
    department_id: departmentId,
    name: z.string(),
    parent_id: departmentId.nullable(),
    sort_order: z.number().int(),
    created_at: isoTime,
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
