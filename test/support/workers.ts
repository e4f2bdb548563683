import { neon, neonConfig } from '@neondatabase/serverless'
import { actionPath, groupCreate } from '../../schema/index.ts'
import { generateKeys, type LocalKeys } from '../../local/keys.ts'
import { createSigner, type Signer } from '../../relay/sign.ts'
import { ensureAdmin } from '../../local/bootstrap.ts'
import type { Hono } from 'hono'
import type { AppEnv, Bindings } from '../../workers/env.ts'
import type { TestDatabase } from './db.ts'
import { startUpstashEndpoint, type UpstashEndpoint } from '../../local/upstash-endpoint.ts'
import { realRedisUrl, realServicesMissing } from './services.ts'

/**
 * The rate limiter's store for worker tests: the machine's real Redis behind the local Upstash
 * endpoint when there is one (mandatory in CI), the in-process stand-in otherwise.
 */
export function startTestLimiter(): Promise<UpstashEndpoint> {
  const real = realServicesMissing('redis') === null
  return startUpstashEndpoint({
    redisUrl: real ? realRedisUrl : undefined,
    token: `t${Math.random().toString(36).slice(2)}`,
  })
}

export interface WorkerHarness {
  env: Bindings
  keys: LocalKeys
  sign: Signer
  /** A request exactly as the relay sends it: the raw body and its signed token. */
  request(
    action: string,
    clientId: string,
    seqId: string,
    payload: unknown,
    opts?: { token?: string; body?: string },
  ): Promise<Request>
  /** Direct SQL for assertions, through the same Neon endpoint (PGlite serves one connection). */
  db: { query(text: string, params?: unknown[]): Promise<{ rows: any[] }>; end(): Promise<void> }
  limiter: UpstashEndpoint
  close(): Promise<void>
}

export async function workerHarness(
  database: TestDatabase,
  dataDir: string,
): Promise<WorkerHarness & { admin: Awaited<ReturnType<typeof ensureAdmin>> }> {
  const keys = await generateKeys()
  const limiter = await startTestLimiter()
  const env: Bindings = {
    UPSTASH_REDIS_REST_URL: limiter.url,
    UPSTASH_REDIS_REST_TOKEN: limiter.token,
    // Every request goes through the limiter; the limits themselves are tested on their own.
    RATE_LIMIT_PREFIX: `mchat-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    RATE_LIMIT_MESSAGE: '100000/10s',
    RATE_LIMIT_MANAGEMENT: '100000/10s',
    DATABASE_URL: database.databaseUrl,
    NEON_FETCH_ENDPOINT: database.neonEndpoint,
    RELAY_PUBLIC_KEY: keys.relayPublicJwk,
    CREDENTIAL_SECRET: keys.credentialSecret,
    MQTT_PUBLIC_HOST: 'mqtt.test',
    MQTT_PUBLIC_PORT: '1883',
    MQTT_PUBLIC_TLS: 'false',
  }
  const sign = await createSigner(keys.relayPrivateJwk)
  neonConfig.fetchEndpoint = database.neonEndpoint
  const sql = neon(database.databaseUrl, { fullResults: true })
  const db = { query: (text: string, params: unknown[] = []) => sql.query(text, params), end: async () => {} }
  const admin = await ensureAdmin(env, dataDir)
  return {
    env,
    keys,
    sign,
    db,
    admin,
    limiter,
    close: () => limiter.close(),
    async request(action, clientId, seqId, payload, opts = {}) {
      const body = opts.body ?? JSON.stringify({ action, ...(payload as object) })
      const bytes = new TextEncoder().encode(body)
      const token = opts.token ?? (await sign({ action, clientId, seqId, body: bytes }))
      return new Request(`http://workers.test${actionPath(action)}`, {
        method: 'POST',
        body: bytes,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      })
    },
  }
}

/** Reads a worker answer (NDJSON stream or a plain JSON error) into deliveries and the reply. */
export async function readAnswer(res: Response): Promise<{
  status: number
  deliveries: Array<{ topic: string; payload: any }>
  reply: { code: number; message: string; data: any }
}> {
  const text = await res.text()
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    return { status: res.status, deliveries: [], reply: JSON.parse(text) }
  }
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const reply = lines.pop()
  if (reply.kind !== 'reply') throw new Error(`last line is not a reply: ${text}`)
  const { kind: _, ...rest } = reply
  return { status: res.status, deliveries: lines.map(({ kind: _k, ...d }) => d), reply: rest }
}

type Answer = Awaited<ReturnType<typeof readAnswer>>

let seq = 0
/** A fresh seq_id per call unless one is given. */
export const nextSeq = () => `s${Date.now().toString(36)}${(seq++).toString(36)}`

/** Sends one signed action through the app (as the relay would) and reads the answer. */
export async function callAction(
  app: Hono<AppEnv>,
  h: WorkerHarness,
  action: string,
  clientId: string,
  payload: Record<string, unknown> = {},
  seqId: string = nextSeq(),
): Promise<Answer> {
  return readAnswer(await app.request(await h.request(action, clientId, seqId, payload), undefined, h.env))
}

/** Creates an employee with the admin client and binds `clientId` (`{employee_id}.{device}`) as it. */
export async function createAndBind(
  app: Parameters<typeof callAction>[0],
  h: WorkerHarness,
  adminClient: string,
  fields: Record<string, unknown>,
  device = 'dev',
): Promise<{ employee_id: string; clientId: string; password: string }> {
  const created = await callAction(app, h, 'employee.create', adminClient, fields)
  if (created.reply.code !== 0) throw new Error(`employee.create failed: ${JSON.stringify(created.reply)}`)
  const { employee_id, mqtt_connection } = created.reply.data
  const clientId = `${employee_id}.${device}`
  const bound = await callAction(app, h, 'auth.bind', clientId, { mqtt_password: mqtt_connection.mqtt_password })
  if (bound.reply.code !== 0) throw new Error(`auth.bind failed: ${JSON.stringify(bound.reply)}`)
  return { employee_id, clientId, password: mqtt_connection.mqtt_password }
}

/** A fresh auth.challenge for `clientId`: the {challenge_id, token} a sensitive action carries. */
export async function challengeFor(
  app: Parameters<typeof callAction>[0],
  h: WorkerHarness,
  clientId: string,
  forAction?: string,
): Promise<{ challenge_id: string; token: string }> {
  const a = await callAction(app, h, 'auth.challenge', clientId, forAction ? { for_action: forAction } : {})
  if (a.reply.code !== 0) throw new Error(`auth.challenge failed: ${JSON.stringify(a.reply)}`)
  return { challenge_id: a.reply.data.challenge_id, token: a.reply.data.token }
}

/** A group `clientId` creates with `member_ids`; its group_id. */
export async function createGroup(
  app: Parameters<typeof callAction>[0],
  h: WorkerHarness,
  clientId: string,
  name: string,
  member_ids: string[],
): Promise<string> {
  const a = await callAction(app, h, 'group.create', clientId, { name, member_ids })
  if (a.reply.code !== 0) throw new Error(`group.create failed: ${JSON.stringify(a.reply)}`)
  return groupCreate.reply.parse(a.reply.data).group_id
}

/** `prefix_owner` and bound members `prefix_{o}` (created by `adminClient`), in a group the owner made. */
export async function groupWith(
  app: Parameters<typeof callAction>[0],
  h: WorkerHarness,
  adminClient: string,
  prefix: string,
  others: string[],
) {
  const owner = await createAndBind(app, h, adminClient, { name: 'Owner', employee_id: `${prefix}_owner` })
  const m: Record<string, { employee_id: string; clientId: string }> = {}
  for (const o of others) m[o] = await createAndBind(app, h, adminClient, { name: o, employee_id: `${prefix}_${o}` })
  const group_id = await createGroup(
    app,
    h,
    owner.clientId,
    `${prefix} group`,
    others.map((o) => `${prefix}_${o}`),
  )
  return { owner, group_id, m }
}

/** `n` active employees `${prefix}_0001`… made with one statement (setup for large groups). */
export async function bulkEmployees(h: WorkerHarness, prefix: string, n: number): Promise<string[]> {
  const { rows } = await h.db.query(
    `INSERT INTO employee (employee_id, name) SELECT $1 || '_' || lpad(i::text, 4, '0'), 'Bulk ' || i FROM generate_series(1, $2::int) AS i RETURNING employee_id`,
    [prefix, n],
  )
  return rows.map((r) => r.employee_id as string).sort()
}
