import type { MiddlewareHandler } from 'hono'
import { jwtVerify, errors } from 'jose'
import { RELAY_TOKEN, bodyHash, isActionName, relayClaims } from '../../schema/index.ts'
import type { AppEnv } from '../env.ts'
import { fail } from '../lib/errors.ts'
import { relayPublicKey } from '../lib/keys.ts'

/**
 * Nothing unsigned reaches an action: the bearer token must be the relay's EdDSA JWT for this
 * route's action, unexpired, at most 60 s long-lived, and carry the SHA-256 of this exact body.
 */
export function relayAuth(): MiddlewareHandler<AppEnv> {
  return async function relayAuth(c, next) {
    const header = c.req.header('authorization') ?? ''
    const token = header.startsWith('Bearer ') ? header.slice(7) : ''
    if (!token) fail(401, 'relay token missing')

    // Outside the try: a broken RELAY_PUBLIC_KEY is our misconfiguration (500), not a bad token.
    const key = await relayPublicKey(c.env.RELAY_PUBLIC_KEY)
    let payload
    try {
      ;({ payload } = await jwtVerify(token, key, {
        algorithms: [RELAY_TOKEN.alg],
        issuer: RELAY_TOKEN.issuer,
        audience: RELAY_TOKEN.audience,
        maxTokenAge: RELAY_TOKEN.maxAgeSeconds,
        requiredClaims: ['exp', 'iat'],
      }))
    } catch (err) {
      const why = err instanceof errors.JOSEError ? err.code : 'unreadable'
      fail(401, `relay token rejected (${why})`)
    }
    if (payload.exp! - payload.iat! > RELAY_TOKEN.maxAgeSeconds) fail(401, 'relay token lives too long')
    const claims = relayClaims.safeParse(payload)
    if (!claims.success) fail(401, 'relay token lacks its claims')

    const action = c.req.path.slice(c.req.path.lastIndexOf('/') + 1)
    if (claims.data.act !== action || !isActionName(action)) fail(401, 'relay token is for another action')

    const body = new Uint8Array(await c.req.arrayBuffer())
    const hash = await bodyHash(body)
    if (hash !== claims.data.bh) fail(401, 'body does not match the relay token')

    c.set('call', { action, clientId: claims.data.cid, seqId: claims.data.seq, body, bodyHash: hash })
    await next()
  }
}
