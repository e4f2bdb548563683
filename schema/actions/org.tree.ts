import * as z from 'zod'
import { departmentId, employeeId } from '../ids.ts'
import { defineAction } from './define.ts'

export const orgDepartment = z.object({
  department_id: departmentId,
  name: z.string(),
  parent_id: departmentId.nullable(),
  sort_order: z.number().int(),
})

export const orgEmployee = z.object({
  employee_id: employeeId,
  name: z.string(),
  department_id: departmentId.nullable(),
  manager_id: employeeId.nullable(),
  is_ai_agent: z.boolean(),
  skills_badge: z.array(z.string()),
  status: z.enum(['active', 'disabled']),
})

export const orgTree = defineAction({
  name: 'org.tree',
  request: z.object({}),
  reply: z.object({ departments: z.array(orgDepartment), employees: z.array(orgEmployee) }),
  session: 'required',
  effect: 'read',
  limit: 'management',
})
