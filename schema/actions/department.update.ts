import * as z from 'zod'
import { departmentId, isoTime } from '../ids.ts'
import { departmentFields } from './department.create.ts'
import { defineAction } from './define.ts'

/** Seed 002 §3.6: rename, move (never under itself or its own subtree) or reorder. */
export const departmentUpdate = defineAction({
  name: 'department.update',
  request: z.object({
    department_id: departmentId,
    updates: z
      .strictObject({
        name: departmentFields.name.optional(),
        parent_id: departmentId.nullable().optional(),
        sort_order: departmentFields.sort_order.optional(),
      })
      .refine((u) => Object.values(u).some((v) => v !== undefined), 'must change at least one field'),
  }),
  reply: z.object({ department_id: departmentId, updated_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
