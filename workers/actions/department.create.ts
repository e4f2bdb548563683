import { newId } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { requireOrgAdmin } from '../lib/permissions.ts'

/** Seed 002 §3.6: org admins only; an unknown parent_id is 404 (its foreign key). */
export default defineHandler({
  action: 'department.create',
  audit: (input, data) => ({
    params: {
      department_id: data?.department_id ?? input.department_id ?? null,
      name: input.name,
      parent_id: input.parent_id ?? null,
    },
  }),
  async handle({ input, caller, sql, now }) {
    requireOrgAdmin(caller, 'create departments')
    const department_id = input.department_id ?? newId('dept')
    const created_at = now.toISOString()
    const parent_id = input.parent_id ?? null
    return {
      data: { department_id, name: input.name, parent_id, sort_order: input.sort_order, created_at },
      writes: [
        sql.query(
          'INSERT INTO department (department_id, name, parent_id, sort_order, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)',
          [department_id, input.name, parent_id, input.sort_order, created_at],
        ),
      ],
    }
  },
})
