import type { ReplyOf } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { fail } from '../lib/errors.ts'

type Member = ReplyOf<'group.members'>['members'][number]
interface Page {
  dismissed: boolean
  is_member: boolean
  member_count: number
  members: Member[]
}

/**
 * One page of a group's members, for its members and org admins. One read once the caller is
 * known: the group's state, whether the caller belongs, the count and the page.
 */
export default defineHandler({
  action: 'group.members',
  async handle({ input, caller, sql }) {
    const [row] = (await sql.query(
      `SELECT g.dismissed_at IS NOT NULL AS dismissed,
              EXISTS (SELECT 1 FROM group_member x WHERE x.group_id = g.group_id AND x.employee_id = $2) AS is_member,
              (SELECT count(*)::int FROM group_member x WHERE x.group_id = g.group_id) AS member_count,
              (SELECT coalesce(json_agg(p ORDER BY p.employee_id), '[]') FROM (
                 SELECT m.employee_id, e.name, m.role, e.is_ai_agent,
                        to_char(m.joined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS joined_at
                   FROM group_member m JOIN employee e ON e.employee_id = m.employee_id
                  WHERE m.group_id = g.group_id AND ($3::text IS NULL OR m.employee_id > $3)
                  ORDER BY m.employee_id LIMIT $4) p) AS members
         FROM chat_group g WHERE g.group_id = $1`,
      [input.group_id, caller.employee_id, input.cursor ?? null, input.limit + 1],
    )) as Array<Page | undefined>
    if (!row) fail(404, 'group_id: no such group')
    if (row.dismissed) fail(404, 'group_id: the group was dismissed')
    if (!row.is_member && caller.role !== 'admin') fail(403, 'group_id: only its members and org admins can list them')
    const members = row.members.slice(0, input.limit)
    return {
      data: {
        group_id: input.group_id,
        member_count: row.member_count,
        members,
        next_cursor: row.members.length > input.limit ? members.at(-1)!.employee_id : null,
      },
    }
  },
})
