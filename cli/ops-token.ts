import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import * as z from 'zod'
import { SERVICE_IDENTITY } from '../schema/index.ts'
import { issueOpsCredential } from '../workers/lib/credentials.ts'
import { dataDir } from './credentials.ts'

/** What `mchat ops-token` prints, and what `--ops <file>` reads back. */
export const opsLogin = z.object({
  mqtt_username: z.string().startsWith(SERVICE_IDENTITY.opsPrefix),
  mqtt_password: z.string().min(1),
  client_id: z.string().min(1),
  expires_at: z.iso.datetime(),
})
export type OpsLogin = z.infer<typeof opsLogin>

export const OPS_TOKEN_TTL = { defaultSeconds: 3600, maxSeconds: 30 * 24 * 3600 } as const

// It becomes part of a username and a client id: nothing a broker, a log or a shell would trip on.
const NAME = /^[A-Za-z0-9_-]{1,64}$/

/**
 * An ops identity's MQTT login, signed with the workers' credential secret: `CREDENTIAL_SECRET`,
 * else the keys.json of the local data dir (what `mchat start` uses). Never a new secret: a token
 * no worker can verify is useless.
 */
export async function issueOpsLogin(name: string, ttlSeconds: number): Promise<OpsLogin> {
  if (!NAME.test(name)) throw new Error(`ops-token: the name must be 1–64 letters, digits, _ or -, got "${name}"`)
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > OPS_TOKEN_TTL.maxSeconds) {
    throw new Error(`ops-token: --ttl must be a whole number of seconds from 1 to ${OPS_TOKEN_TTL.maxSeconds}`)
  }
  const token = await issueOpsCredential({ CREDENTIAL_SECRET: await credentialSecret() }, name, ttlSeconds)
  const username = `${SERVICE_IDENTITY.opsPrefix}${name}`
  return {
    mqtt_username: username,
    mqtt_password: token,
    client_id: `${username}.cli`,
    expires_at: new Date(decodeJwt(token).exp! * 1000).toISOString(),
  }
}

async function credentialSecret(): Promise<string> {
  if (process.env.CREDENTIAL_SECRET) return process.env.CREDENTIAL_SECRET
  const file = join(dataDir(), 'keys.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new Error(
      `ops-token: set CREDENTIAL_SECRET to the workers' secret, or run where ${file} exists (the data dir of mchat start, MCHAT_DATA_DIR)`,
    )
  }
  let secret: unknown
  try {
    secret = (JSON.parse(text) as { credentialSecret?: unknown }).credentialSecret
  } catch {
    throw new Error(`ops-token: ${file} is not JSON`)
  }
  if (typeof secret !== 'string') throw new Error(`ops-token: ${file} holds no credentialSecret`)
  return secret
}

/** Reads what `mchat ops-token` printed; an expired login is refused here rather than by the broker. */
export async function loadOpsLogin(path: string, now = new Date()): Promise<OpsLogin> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new Error(`--ops ${path}: ${(err as Error).message}`, { cause: err })
  }
  const parsed = opsLogin.safeParse(json)
  if (!parsed.success)
    throw new Error(
      `--ops ${path}: not an ops login (what mchat ops-token prints: mqtt_username, mqtt_password, client_id, expires_at)`,
    )
  if (new Date(parsed.data.expires_at) <= now)
    throw new Error(
      `--ops ${path}: the ops token expired at ${parsed.data.expires_at}; issue another with mchat ops-token`,
    )
  return parsed.data
}
