import { isActionName, newId } from '../../schema/index.ts'
import { defineHandler } from '../lib/action.ts'
import { challengeToken, challengeTtl, tokenHash } from '../lib/challenge.ts'
import { fail } from '../lib/errors.ts'

/**
 * Seed 002 §3.2: a one-time token for a sensitive action, bound to the caller (and to
 * `for_action` when given). Only its hash is stored; a replay rebuilds the token from its id.
 */
export default defineHandler({
  action: 'auth.challenge',
  audit: (input, data) => ({
    params: { challenge_id: data?.challenge_id ?? null, for_action: input.for_action ?? null },
  }),
  store: (data) => ({ ...data, token: '' }),
  replay: async (stored, env) => ({ ...stored, token: await challengeToken(env, stored.challenge_id) }),
  async handle({ input, caller, env, sql, now }) {
    if (input.for_action !== undefined && !isActionName(input.for_action)) fail(400, 'for_action: not an action')
    const challenge_id = newId('ch')
    const token = await challengeToken(env, challenge_id)
    const expires_at = new Date(now.getTime() + challengeTtl(env) * 1000).toISOString()
    return {
      data: { challenge_id, token, expires_at },
      writes: [
        sql.query(
          'INSERT INTO auth_challenge (challenge_id, employee_id, token_hash, expires_at, for_action) VALUES ($1, $2, $3, $4, $5)',
          [challenge_id, caller.employee_id, await tokenHash(token), expires_at, input.for_action ?? null],
        ),
      ],
    }
  },
})
