import * as z from 'zod'
import { employeeId, groupId, isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

/** The most members a group may have, its owner included. */
export const GROUP_MAX_MEMBERS = 2000

// Counted after removing repeats; the raw list is bounded by the relay's request size.
export const memberIds = z
  .array(employeeId)
  .min(1, 'must not be empty')
  .transform((ids) => [...new Set(ids)])
  .refine((ids) => ids.length <= GROUP_MAX_MEMBERS, `at most ${GROUP_MAX_MEMBERS} members`)

/**
 * Seed 002 §3.7. Any active employee may create a group and becomes its owner; `member_ids` in
 * the reply is every member, the owner included. Each member gets a member_joined notice.
 */
export const groupCreate = defineAction({
  name: 'group.create',
  request: z.object({
    name: z.string().trim().min(1).max(64),
    member_ids: memberIds,
    opts: z
      .object({
        description: z.string().max(512).optional(),
        avatar: z
          .url({ protocol: /^https?$/ })
          .max(2048)
          .optional(),
      })
      .optional(),
  }),
  reply: z.object({
    group_id: groupId,
    name: z.string(),
    owner_id: employeeId,
    member_ids: z.array(employeeId),
    created_at: isoTime,
  }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
