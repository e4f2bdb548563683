import type { ReplyOf } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'

type Group = ReplyOf<'group.list'>['groups'][number]

/** The live groups the caller belongs to, with their role: read after the session is known. */
export default defineHandler({
  action: 'group.list',
  async handle({ caller, sql }) {
    const groups = (await sql.query(
      `SELECT g.group_id, g.name, m.role,
              (SELECT count(*)::int FROM group_member x WHERE x.group_id = g.group_id) AS member_count
         FROM group_member m JOIN chat_group g ON g.group_id = m.group_id
        WHERE m.employee_id = $1 AND g.dismissed_at IS NULL
        ORDER BY g.created_at, g.group_id`,
      [caller.employee_id],
    )) as Group[]
    return { data: { groups } }
  },
})
