import * as z from 'zod'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'
import { groupRole } from './group.list.ts'

export const GROUP_MEMBERS_PAGE_MAX = 500

/**
 * A live group's members with their role and join time, by employee_id; pass the reply's
 * `next_cursor` as `cursor` for the next page. Members of the group and org admins only.
 */
export const groupMembers = defineAction({
  name: 'group.members',
  request: z.object({
    group_id: groupId,
    limit: z.number().int().min(1).max(GROUP_MEMBERS_PAGE_MAX).default(200),
    /** The last employee_id of the previous page. */
    cursor: employeeId.optional(),
  }),
  reply: z.object({
    group_id: groupId,
    member_count: z.number().int(),
    members: z.array(
      z.object({
        employee_id: employeeId,
        name: z.string(),
        role: groupRole,
        is_ai_agent: z.boolean(),
        joined_at: isoTime,
      }),
    ),
    next_cursor: employeeId.nullable(),
  }),
  session: 'required',
  effect: 'read',
  limit: 'management',
})
