import { defineHandler } from '../lib/action.ts'
import { notice, toInboxes } from '../lib/notices.ts'
import { GROUP_SQL, liveGroup, lockLiveGroup, requireGroupManager, type LoadedGroup } from '../lib/permissions.ts'

interface Facts {
  group_name: string
  member_ids: string[]
}

/** Seed 002 §3.8, sensitive: the group is marked dismissed (kept for the audit trail); every member is told. */
export default defineHandler({
  action: 'group.dismiss',
  audit: (input) => ({ params: { group_id: input.group_id } }),
  sensitive: () => true,
  async load(input, sql) {
    return ((await sql.query(GROUP_SQL, [input.group_id]))[0] as LoadedGroup | undefined) ?? null
  },
  async handle({ input, caller, sql, loaded, now }) {
    const group = liveGroup(loaded)
    requireGroupManager(caller, group, 'dismiss the group')
    const dismissed_at = now.toISOString()
    const facts: Facts = { group_name: group.name, member_ids: Object.keys(group.members) }
    return {
      data: { group_id: input.group_id, dismissed_at },
      facts,
      writes: [
        lockLiveGroup(sql, input.group_id),
        sql.query('UPDATE chat_group SET dismissed_at = $2, updated_at = $2 WHERE group_id = $1', [
          input.group_id,
          dismissed_at,
        ]),
      ],
    }
  },
  derive: (_input, data, caller, facts: Facts) =>
    toInboxes(
      facts.member_ids,
      notice('group_dismissed', data.group_id, data.dismissed_at, {
        group_id: data.group_id,
        group_name: facts.group_name,
        operator_id: caller.employee_id,
      }),
    ),
})
