import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.ts'
import { fail } from '../lib/errors.ts'

/**
 * The broker hooks answer only the broker: it sends `Authorization: Bearer <BROKER_HOOK_SECRET>`
 * (an EMQX authenticator/authorizer `headers` entry). Without the binding the hooks are off (503).
 */
export function brokerAuth(): MiddlewareHandler<AppEnv> {
  return async function brokerAuth(c, next) {
    const secret = c.env.BROKER_HOOK_SECRET
    if (!secret) fail(503, 'broker hooks are not configured (BROKER_HOOK_SECRET)')
    const header = c.req.header('authorization') ?? ''
    const given = header.startsWith('Bearer ') ? header.slice(7) : ''
    if (!(await sameSecret(given, secret))) fail(401, 'broker hook secret missing or wrong')
    await next()
  }
}

// Comparing digests keeps the time independent of where the strings first differ.
async function sameSecret(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder()
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(a)),
    crypto.subtle.digest('SHA-256', enc.encode(b)),
  ])
  const u = new Uint8Array(x)
  const v = new Uint8Array(y)
  let diff = a.length === 0 ? 1 : 0
  for (let i = 0; i < u.length; i++) diff |= u[i]! ^ v[i]!
  return diff === 0
}
