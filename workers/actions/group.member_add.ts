import { GROUP_MAX_MEMBERS } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { fail } from '../lib/errors.ts'
import { notice, toInboxes } from '../lib/notices.ts'
import {
  EMPLOYEE_STATUS_SQL,
  GROUP_SQL,
  liveGroup,
  lockLiveGroup,
  requireActiveEmployees,
  requireGroupManager,
  type LoadedGroup,
} from '../lib/permissions.ts'

interface Loaded {
  group: LoadedGroup | null
  employees: Array<{ employee_id: string; status: string }>
}

/** Seed 002 §3.9: group managers add active employees; those already in are skipped; the added are told. */
export default defineHandler({
  action: 'group.member_add',
  audit: (input, data) => ({
    params: { group_id: input.group_id, requested: input.member_ids.length, added_ids: data?.added_ids ?? null },
  }),
  async load(input, sql): Promise<Loaded> {
    const [row] = await sql.query(
      `SELECT (SELECT row_to_json(g) FROM (${GROUP_SQL}) g) AS group,
              (SELECT coalesce(json_agg(e), '[]') FROM (${EMPLOYEE_STATUS_SQL.replace('$1', '$2')}) e) AS employees`,
      [input.group_id, input.member_ids],
    )
    return row as Loaded
  },
  async handle({ input, caller, sql, loaded, now }) {
    const group = liveGroup(loaded.group)
    requireGroupManager(caller, group, 'add members')
    // Own keys only: `in` would take ids like `constructor` for members (Object.prototype).
    const added_ids = input.member_ids.filter((id) => !Object.hasOwn(group.members, id))
    requireActiveEmployees('member_ids', added_ids, loaded.employees)
    const count = Object.keys(group.members).length + added_ids.length
    if (count > GROUP_MAX_MEMBERS)
      fail(400, `member_ids: the group would have ${count} members, more than ${GROUP_MAX_MEMBERS}`)
    const added_at = now.toISOString()
    return {
      data: { group_id: input.group_id, added_ids, current_member_count: count, added_at },
      facts: { group_name: group.name },
      writes: [
        lockLiveGroup(sql, input.group_id),
        sql.query(
          `INSERT INTO group_member (group_id, employee_id, role, joined_at)
           SELECT $1, id, 'member', $2 FROM unnest($3::text[]) AS id ON CONFLICT DO NOTHING`,
          [input.group_id, added_at, added_ids],
        ),
        // Concurrent additions were counted apart; under the lock the total is exact.
        sql.query(`SELECT mchat_check((SELECT count(*) FROM group_member WHERE group_id = $1) <= $2, 'group_full')`, [
          input.group_id,
          GROUP_MAX_MEMBERS,
        ]),
      ],
    }
  },
  derive: (_input, data, caller, facts: { group_name: string }) =>
    toInboxes(
      data.added_ids,
      notice('member_joined', data.group_id, data.added_at, {
        group_id: data.group_id,
        group_name: facts.group_name,
        inviter_id: caller.employee_id,
      }),
    ),
})
