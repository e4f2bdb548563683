import * as z from 'zod'
import { groupId } from '../ids.ts'
import { defineAction } from './define.ts'

export const groupRole = z.enum(['owner', 'admin', 'member'])

/** The caller's live groups: what a client subscribes to after binding (seed 000 §4.2). */
export const groupList = defineAction({
  name: 'group.list',
  request: z.object({}),
  reply: z.object({
    groups: z.array(z.object({ group_id: groupId, name: z.string(), role: groupRole, member_count: z.number().int() })),
  }),
  session: 'required',
  effect: 'read',
  limit: 'management',
})
