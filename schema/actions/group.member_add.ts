import * as z from 'zod'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { memberIds } from './group.create.ts'
import { defineAction } from './define.ts'

/** Seed 002 §3.9. Ids already in the group are left out of `added_ids`; the added get member_joined. */
export const groupMemberAdd = defineAction({
  name: 'group.member_add',
  request: z.object({ group_id: groupId, member_ids: memberIds }),
  reply: z.object({
    group_id: groupId,
    added_ids: z.array(employeeId),
    current_member_count: z.number().int(),
    added_at: isoTime,
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
