import { base64url } from 'jose'
import type { Bindings } from '../env.ts'
import type { Sql } from './db.ts'
import { credentialSecret } from './credentials.ts'
import { fail } from './errors.ts'
import type { Write } from './action.ts'

/** How long an auth.challenge token lives unless CHALLENGE_TTL_SECONDS says otherwise. */
export const CHALLENGE_TTL_SECONDS = 120

export function challengeTtl(env: Bindings): number {
  const ttl = Number(env.CHALLENGE_TTL_SECONDS ?? CHALLENGE_TTL_SECONDS)
  return Number.isInteger(ttl) && ttl > 0 && ttl <= 900 ? ttl : CHALLENGE_TTL_SECONDS
}

/**
 * The token is an HMAC of the (random) challenge id: a replayed auth.challenge answers
 * with the same token without the token resting in the database (only its hash does).
 */
export async function challengeToken(env: Bindings, challengeId: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    credentialSecret(env) as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`challenge:${challengeId}`))
  return base64url.encode(new Uint8Array(mac))
}

export async function tokenHash(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))))
}

/**
 * The write that spends the request's challenge inside the action's transaction (the database
 * function refuses unknown, foreign, used, expired or other-action challenges). Wrapped in an
 * object: a query is a thenable, and returning it from an async function would run it.
 */
export async function spendChallenge(
  sql: Sql,
  input: { challenge_id?: string | undefined; token?: string | undefined },
  employeeId: string,
  action: string,
): Promise<{ write: Write }> {
  if (!input.challenge_id || !input.token) {
    fail(403, `challenge: ${action} is sensitive, send auth.challenge first and pass its challenge_id and token`)
  }
  const hash = await tokenHash(input.token)
  return {
    write: sql.query('SELECT consume_challenge($1, $2, $3, $4)', [input.challenge_id, employeeId, hash, action]),
  }
}
