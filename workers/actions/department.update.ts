import { defineHandler } from '../lib/action.ts'
import { WITHIN_SUBTREE_SQL } from '../lib/departments.ts'
import { fail } from '../lib/errors.ts'
import { requireOrgAdmin } from '../lib/permissions.ts'

const COLUMNS = ['name', 'parent_id', 'sort_order'] as const

/** Seed 002 §3.6: org admins rename, move or reorder a department; never under itself. */
export default defineHandler({
  action: 'department.update',
  audit: (input) => ({ params: { department_id: input.department_id, updates: input.updates } }),
  async load(input, sql) {
    const [row] = (await sql.query(
      `SELECT EXISTS (SELECT 1 FROM department WHERE department_id = $1) AS found, ${WITHIN_SUBTREE_SQL} AS cycle`,
      [input.department_id, input.updates.parent_id ?? null],
    )) as Array<{ found: boolean; cycle: boolean }>
    return row!
  },
  async handle({ input, caller, sql, loaded, now }) {
    requireOrgAdmin(caller, 'update departments')
    if (!loaded.found) fail(404, 'department_id: no such department')
    if (loaded.cycle) fail(400, 'parent_id: would put the department inside itself')
    const fields = COLUMNS.filter((f) => input.updates[f] !== undefined)
    const updated_at = now.toISOString()
    return {
      data: { department_id: input.department_id, updated_at },
      writes: [
        sql.query(
          `UPDATE department SET ${fields.map((f, i) => `${f} = $${i + 3}`).join(', ')}, updated_at = $2 WHERE department_id = $1`,
          [input.department_id, updated_at, ...fields.map((f) => input.updates[f])],
        ),
      ],
    }
  },
})
