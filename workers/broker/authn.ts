import type { Handler } from 'hono'
import { jwtVerify } from 'jose'
import {
  authnRequest,
  clientIdMayName,
  RELAY_TOKEN,
  SERVICE_IDENTITY,
  type AuthnReply,
  type AuthnRequest,
} from '../../schema/index.ts'
import type { AppEnv, Bindings } from '../env.ts'
import { verifyCredential, verifyOpsCredential } from '../lib/credentials.ts'
import { clientOwner } from '../lib/client-owner.ts'
import { openDb } from '../lib/db.ts'
import { fail } from '../lib/errors.ts'
import { relayPublicKey } from '../lib/keys.ts'

/**
 * EMQX HTTP authentication: who may connect, under which client id. An employee connects with
 * username = employee_id, password = the current mqtt_password, and a client id of its own
 * (`{employee_id}.{device_id}`, or `{employee_id}_{device_id}` when no longer employee id claims it:
 * workers/lib/client-owner.ts); the relay with a token it signed; ops with an ops token.
 */
export function authn(): Handler<AppEnv> {
  return async function authn(c) {
    const body = authnRequest.safeParse(await c.req.json().catch(() => null))
    if (!body.success) fail(400, 'authn: expected {clientid, username, password}')
    const verdict = await check(c.env, body.data)
    return c.json<AuthnReply>({ result: verdict.ok ? 'allow' : 'deny', is_superuser: verdict.ok && verdict.superuser })
  }
}

type Verdict = { ok: true; superuser: boolean } | { ok: false; why: string }

async function check(env: Bindings, { clientid, username, password }: AuthnRequest): Promise<Verdict> {
  if (!username || !password) return { ok: false, why: 'no credentials' }
  if (username === SERVICE_IDENTITY.relayUsername)
    return (await isRelay(env, password, clientid))
      ? { ok: true, superuser: true }
      : { ok: false, why: 'bad relay token' }
  if (username.startsWith(SERVICE_IDENTITY.opsPrefix)) {
    const name = await verifyOpsCredential(env, password)
    return name !== null && `${SERVICE_IDENTITY.opsPrefix}${name}` === username && clientid.startsWith(`${username}.`)
      ? { ok: true, superuser: false }
      : { ok: false, why: 'bad ops token' }
  }
  if (!clientIdMayName(clientid, username)) return { ok: false, why: 'client id is not the employee’s' }
  const cred = await verifyCredential(env, password)
  if (!cred || cred.employeeId !== username) return { ok: false, why: 'bad password' }
  const db = openDb(env)
  if ((await clientOwner(db, clientid)) !== username) return { ok: false, why: 'client id is a longer employee id’s' }
  const rows = await db.query(
    'SELECT 1 FROM employee WHERE employee_id = $1 AND status = $2 AND credential_version = $3',
    [username, 'active', cred.version],
  )
  return rows.length === 1 ? { ok: true, superuser: false } : { ok: false, why: 'revoked or disabled' }
}

async function isRelay(env: Bindings, token: string, clientid: string): Promise<boolean> {
  const key = await relayPublicKey(env.RELAY_PUBLIC_KEY)
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [RELAY_TOKEN.alg],
      issuer: RELAY_TOKEN.issuer,
      audience: SERVICE_IDENTITY.brokerAudience,
      subject: clientid,
      requiredClaims: ['exp', 'iat'],
    })
    return payload.exp! - payload.iat! <= SERVICE_IDENTITY.relayTokenTtlSeconds
  } catch {
    return false
  }
}
