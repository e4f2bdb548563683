import { GROUP_MAX_MEMBERS, newId } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { fail } from '../lib/errors.ts'
import { notice, toInboxes } from '../lib/notices.ts'
import { EMPLOYEE_STATUS_SQL, requireActiveEmployees } from '../lib/permissions.ts'

/**
 * Seed 002 §3.7: any active employee creates a group and owns it; every member, active employees
 * only, gets member_joined on their inbox (streamed: up to 2,000).
 */
export default defineHandler({
  action: 'group.create',
  audit: (input, data) => ({
    params: {
      group_id: data?.group_id ?? null,
      name: input.name,
      member_count: data?.member_ids.length ?? input.member_ids.length,
    },
  }),
  async load(input, sql) {
    return (await sql.query(EMPLOYEE_STATUS_SQL, [input.member_ids])) as Array<{ employee_id: string; status: string }>
  },
  async handle({ input, caller, sql, loaded, now }) {
    const others = input.member_ids.filter((id) => id !== caller.employee_id)
    requireActiveEmployees('member_ids', others, loaded)
    const member_ids = [caller.employee_id, ...others]
    if (member_ids.length > GROUP_MAX_MEMBERS)
      fail(400, `member_ids: a group has at most ${GROUP_MAX_MEMBERS} members, its owner included`)
    const group_id = newId('grp')
    const created_at = now.toISOString()
    return {
      data: { group_id, name: input.name, owner_id: caller.employee_id, member_ids, created_at },
      writes: [
        sql.query(
          'INSERT INTO chat_group (group_id, name, creator_employee_id, description, avatar, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)',
          [
            group_id,
            input.name,
            caller.employee_id,
            input.opts?.description ?? null,
            input.opts?.avatar ?? null,
            created_at,
          ],
        ),
        sql.query(
          `INSERT INTO group_member (group_id, employee_id, role, joined_at)
           SELECT $1, id, CASE WHEN id = $2 THEN 'owner' ELSE 'member' END, $3 FROM unnest($4::text[]) AS id`,
          [group_id, caller.employee_id, created_at, member_ids],
        ),
      ],
    }
  },
  derive: (_input, data) =>
    toInboxes(
      data.member_ids,
      notice('member_joined', data.group_id, data.created_at, {
        group_id: data.group_id,
        group_name: data.name,
        inviter_id: data.owner_id,
      }),
    ),
})
