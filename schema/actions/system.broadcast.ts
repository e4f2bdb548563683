import * as z from 'zod'
import { isoTime } from '../ids.ts'
import { challengeFields } from './auth.challenge.ts'
import { defineAction } from './define.ts'

/**
 * An org admin's announcement to everyone on mchat/system/notify (seed 002 §2.4, §3.19), as a
 * notice of type `announcement`. Sensitive (needs a challenge) and audited, title and text included.
 */
export const systemBroadcast = defineAction({
  name: 'system.broadcast',
  request: z.object({
    title: z.string().trim().min(1).max(64),
    content: z.string().trim().min(1).max(2000),
    ...challengeFields,
  }),
  reply: z.object({ notify_id: z.string(), created_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})
