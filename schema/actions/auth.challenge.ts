import * as z from 'zod'
import { isoTime } from '../ids.ts'
import { defineAction } from './define.ts'

/**
 * Second step for sensitive actions (seed 002 §3.2, seed 000 §6.2): a one-time token, bound to
 * the employee who asked and, if `for_action` is given, to that action only.
 */
export const authChallenge = defineAction({
  name: 'auth.challenge',
  request: z.object({ for_action: z.string().min(1).max(64).optional() }),
  reply: z.object({ challenge_id: z.string(), token: z.string(), expires_at: isoTime }),
  session: 'required',
  effect: 'write',
  limit: 'management',
})

/** What a sensitive action's request carries: the pair auth.challenge returned. */
export const challengeFields = {
  challenge_id: z.string().min(1).max(64).optional(),
  token: z.string().min(1).max(128).optional(),
}
