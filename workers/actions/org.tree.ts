import type { z } from 'zod'
import type { orgDepartment, orgEmployee } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'

/** Seed 002 §3.5: the departments and the employees, read alongside the session lookup. */
export default defineHandler({
  action: 'org.tree',
  async load(_input, sql) {
    const [row] = (await sql.query(
      `SELECT
         (SELECT coalesce(json_agg(json_build_object(
             'department_id', d.department_id, 'name', d.name, 'parent_id', d.parent_id, 'sort_order', d.sort_order)
             ORDER BY d.parent_id NULLS FIRST, d.sort_order, d.department_id), '[]')
            FROM department d) AS departments,
         (SELECT coalesce(json_agg(json_build_object(
             'employee_id', e.employee_id, 'name', e.name, 'department_id', e.department_id, 'manager_id', e.manager_id,
             'is_ai_agent', e.is_ai_agent, 'skills_badge', to_json(e.skills_badge), 'status', e.status)
             ORDER BY e.department_id NULLS FIRST, e.created_at, e.employee_id), '[]')
            FROM employee e) AS employees`,
    )) as Array<{ departments: z.infer<typeof orgDepartment>[]; employees: z.infer<typeof orgEmployee>[] }>
    return row!
  },
  async handle({ loaded }) {
    return { data: { departments: loaded.departments, employees: loaded.employees } }
  },
})
