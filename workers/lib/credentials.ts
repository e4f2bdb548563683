import { SignJWT, jwtVerify } from 'jose'
import { CLIENT_ID_SCHEME, SERVICE_IDENTITY, type MqttConnection } from '../../schema/index.ts'
import type { Bindings } from '../env.ts'

/**
 * The mqtt_password is a token naming the employee and a credential version: bumping
 * employee.credential_version revokes every password issued before. `iat` is the issue time the
 * caller gives, so the same (employee, version, time) always yields the same token — a replayed
 * employee.create answers with the identical password without it ever resting in the database.
 */
const ISSUER = 'mchat'
const AUDIENCE = 'mchat-mqtt'

export function credentialSecret(env: Pick<Bindings, 'CREDENTIAL_SECRET'>): Uint8Array {
  if (!env.CREDENTIAL_SECRET || env.CREDENTIAL_SECRET.length < 32) {
    throw new Error('CREDENTIAL_SECRET must be set to at least 32 characters')
  }
  return new TextEncoder().encode(env.CREDENTIAL_SECRET)
}

export function issueCredential(env: Bindings, employeeId: string, version: number, issuedAt: Date): Promise<string> {
  return new SignJWT({ cv: version })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(employeeId)
    .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
    .sign(credentialSecret(env))
}

export async function verifyCredential(
  env: Bindings,
  token: string,
): Promise<{ employeeId: string; version: number } | null> {
  try {
    const { payload } = await jwtVerify(token, credentialSecret(env), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
    })
    if (typeof payload.sub !== 'string' || typeof payload.cv !== 'number') return null
    return { employeeId: payload.sub, version: payload.cv }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('CREDENTIAL_SECRET')) throw err
    return null
  }
}

export function mqttConnection(env: Bindings, employeeId: string, password: string): MqttConnection {
  return {
    broker_host: env.MQTT_PUBLIC_HOST ?? 'localhost',
    broker_port: Number(env.MQTT_PUBLIC_PORT ?? 1883),
    use_tls: env.MQTT_PUBLIC_TLS === 'true',
    mqtt_username: employeeId,
    mqtt_password: password,
    client_id_scheme: CLIENT_ID_SCHEME,
  }
}

/** An ops identity's MQTT password (`ops:<name>`): it may use mchat/ops/… and nothing else. */
export function issueOpsCredential(
  env: Pick<Bindings, 'CREDENTIAL_SECRET'>,
  name: string,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(SERVICE_IDENTITY.opsAudience)
    .setSubject(name)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(credentialSecret(env))
}

export async function verifyOpsCredential(env: Bindings, token: string): Promise<string | null> {
  try {
    const { payload } = await jwtVerify(token, credentialSecret(env), {
      issuer: ISSUER,
      audience: SERVICE_IDENTITY.opsAudience,
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
    })
    return typeof payload.sub === 'string' ? payload.sub : null
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('CREDENTIAL_SECRET')) throw err
    return null
  }
}
