import { defineHandler } from '../lib/action.ts'
import { WITHIN_SUBTREE_SQL } from '../lib/departments.ts'
import { fail } from '../lib/errors.ts'
import { requireOrgAdmin } from '../lib/permissions.ts'

interface Loaded {
  found: boolean
  children: number
  employees: number
  target_found: boolean
  cycle: boolean
}

/**
 * Seed 002 §3.6, sensitive. Sub-departments and employees are never dropped silently: with any,
 * the request must say where they go (`reassign_to`: a department outside this one, or null for
 * the top level), else 409 with the counts.
 */
export default defineHandler({
  action: 'department.delete',
  audit: (input, data) => ({
    params: {
      department_id: input.department_id,
      reassign_to: input.reassign_to ?? null,
      moved_departments: data?.moved_departments,
      moved_employees: data?.moved_employees,
    },
  }),
  sensitive: () => true,
  async load(input, sql) {
    const [row] = (await sql.query(
      `SELECT EXISTS (SELECT 1 FROM department WHERE department_id = $1) AS found,
              (SELECT count(*)::int FROM department WHERE parent_id = $1) AS children,
              (SELECT count(*)::int FROM employee WHERE department_id = $1) AS employees,
              ($2::text IS NULL OR EXISTS (SELECT 1 FROM department WHERE department_id = $2)) AS target_found,
              ${WITHIN_SUBTREE_SQL} AS cycle`,
      [input.department_id, input.reassign_to ?? null],
    )) as Loaded[]
    return row!
  },
  async handle({ input, caller, sql, loaded, now }) {
    requireOrgAdmin(caller, 'delete departments')
    if (!loaded.found) fail(404, 'department_id: no such department')
    if ((loaded.children > 0 || loaded.employees > 0) && input.reassign_to === undefined) {
      fail(
        409,
        `department has ${loaded.children} sub-departments and ${loaded.employees} employees: pass reassign_to (a department_id, or null for the top level)`,
      )
    }
    if (!loaded.target_found) fail(404, 'reassign_to: no such department')
    if (loaded.cycle) fail(400, 'reassign_to: must be outside the department being deleted')
    const to = input.reassign_to ?? null
    return {
      data: {
        department_id: input.department_id,
        deleted_at: now.toISOString(),
        reassigned_to: to,
        moved_departments: loaded.children,
        moved_employees: loaded.employees,
      },
      writes: [
        input.reassign_to === undefined
          ? // Nobody said where members go: whatever joined since the read must not move silently.
            sql.query(
              `SELECT mchat_check(NOT EXISTS (SELECT 1 FROM department WHERE parent_id = $1)
                 AND NOT EXISTS (SELECT 1 FROM employee WHERE department_id = $1), 'department_not_empty')`,
              [input.department_id],
            )
          : sql.query('UPDATE department SET parent_id = $2, updated_at = now() WHERE parent_id = $1', [
              input.department_id,
              to,
            ]),
        sql.query('UPDATE employee SET department_id = $2, updated_at = now() WHERE department_id = $1', [
          input.department_id,
          to,
        ]),
        sql.query('DELETE FROM department WHERE department_id = $1', [input.department_id]),
      ],
    }
  },
})
