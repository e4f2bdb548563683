import { groupTopic } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { brokerApi } from '../lib/broker-api.ts'
import { clientOwners } from '../lib/client-owner.ts'
import { fail } from '../lib/errors.ts'
import { notice, toInboxes } from '../lib/notices.ts'
import { canManageGroup, GROUP_SQL, liveGroup, lockLiveGroup, type LoadedGroup } from '../lib/permissions.ts'

/**
 * Seed 002 §3.10: group managers remove members; any member may remove themselves (leave). The
 * owner cannot be removed: the group is dismissed instead. Ids not in the group are skipped.
 */
export default defineHandler({
  action: 'group.member_remove',
  audit: (input, data) => ({
    params: { group_id: input.group_id, requested: input.member_ids.length, removed_ids: data?.removed_ids ?? null },
  }),
  async load(input, sql) {
    return ((await sql.query(GROUP_SQL, [input.group_id]))[0] as LoadedGroup | undefined) ?? null
  },
  async handle({ input, caller, env, sql, loaded, now }) {
    const group = liveGroup(loaded)
    // Own keys only: `in` would take ids like `constructor` for members (Object.prototype).
    const isMember = (id: string) => Object.hasOwn(group.members, id)
    if (!canManageGroup(caller, group)) {
      const leaving = input.member_ids.length === 1 && input.member_ids[0] === caller.employee_id
      if (!leaving) fail(403, "only the group's owner or admins, or org admins, can remove others")
      // Not a no-op success for outsiders: the reply would tell them the group's member count.
      if (!isMember(caller.employee_id)) fail(403, 'group_id: only members can leave this group')
    }
    const removed_ids = input.member_ids.filter(isMember)
    if (removed_ids.some((id) => group.members[id] === 'owner'))
      fail(409, 'member_ids: the owner cannot be removed; dismiss the group instead')
    const removed_at = now.toISOString()
    return {
      data: {
        group_id: input.group_id,
        removed_ids,
        current_member_count: Object.keys(group.members).length - removed_ids.length,
        removed_at,
      },
      facts: { group_name: group.name },
      writes: [
        lockLiveGroup(sql, input.group_id),
        sql.query('DELETE FROM group_member WHERE group_id = $1 AND employee_id = ANY($2::text[])', [
          input.group_id,
          removed_ids,
        ]),
      ],
      // A broker checks a subscription only when it is made: the removed keep hearing the group
      // until their existing subscriptions are dropped (a new one is then refused by authz).
      after: async () => {
        await brokerApi(env)?.revokeSubscription(groupTopic(input.group_id), removed_ids, (ids) =>
          clientOwners(sql, ids),
        )
      },
    }
  },
  derive: (_input, data, caller, facts: { group_name: string }) =>
    toInboxes(
      data.removed_ids,
      notice('member_removed', data.group_id, data.removed_at, {
        group_id: data.group_id,
        group_name: facts.group_name,
        operator_id: caller.employee_id,
      }),
    ),
})
