import * as z from 'zod'
import { groupId, isoTime } from '../ids.ts'
import { challengeFields } from './auth.challenge.ts'
import { defineAction } from './define.ts'

/** Seed 002 §3.8; sensitive (needs a challenge). Every member gets a group_dismissed notice. */
export const groupDismiss = defineAction({
  name: 'group.dismiss',
  request: z.object({ group_id: groupId, ...challengeFields }),
  reply: z.object({ group_id: groupId, dismissed_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
