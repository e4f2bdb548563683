import * as z from 'zod'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { memberIds } from './group.create.ts'
import { defineAction } from './define.ts'

/**
 * Seed 002 §3.10. A member may remove only themselves (leave); the owner cannot be removed (the
 * group is dismissed instead). The removed get member_removed.
 */
export const groupMemberRemove = defineAction({
  name: 'group.member_remove',
  request: z.object({ group_id: groupId, member_ids: memberIds }),
  reply: z.object({
    group_id: groupId,
    removed_ids: z.array(employeeId),
    current_member_count: z.number().int(),
    removed_at: isoTime,
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
