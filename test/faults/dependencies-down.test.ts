import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../local/broker.ts'
import { startNeonEndpoint, type NeonEndpoint } from '../../local/neon-endpoint.ts'
import { startUpstashEndpoint, type UpstashEndpoint } from '../../local/upstash-endpoint.ts'
import { RELAY_DEFAULTS } from '../../relay/config.ts'
import { startRelay, type Relay } from '../../relay/relay.ts'
import { RouteSource } from '../../relay/route-source.ts'
import type { RouteTable } from '../../relay/routes.ts'
import { Code } from '../../schema/index.ts'
import { migrate } from '../../schema/migrate.ts'
import { app } from '../../workers/app.ts'
import { serveWorkers, type WorkerServer } from '../../workers/entry/node.ts'
import { connectClient, type TestClient } from '../support/mqtt-client.ts'
import { createRealDatabase, realRedisUrl, realServicesMissing } from '../support/services.ts'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts'
import { callAction, createAndBind, workerHarness } from '../support/workers.ts'

/**
 * Issue 7, faults: the workers' dependencies go away under them, each behind a TCP proxy the test
 * cuts (refused), stalls (accepts, never answers) and restores:
 *
 *   workers ─► [neon proxy] ─► Neon endpoint ─► [pg proxy] ─► PostgreSQL
 *   workers ─► Upstash endpoint ─► [redis proxy] ─► Redis
 *
 * Every request gets a clear reply (503 database or rate limiter unavailable, 504 from the relay
 * when the database hangs), nothing crashes, and the same processes serve again once the
 * dependency is back. Real PostgreSQL and Redis; the relay and workers run in this process.
 */
describe.skipIf(realServicesMissing('postgres', 'redis'))('dependencies down', () => {
  const ROUTE_TIMEOUT_MS = 3_000
  let database: { url: string; drop: () => Promise<void> }
  let pgProxy: TcpProxy
  let neon: NeonEndpoint
  let neonProxy: TcpProxy
  let redisProxy: TcpProxy
  let limiter: UpstashEndpoint
  let dir: string
  let h: Awaited<ReturnType<typeof workerHarness>>
  const workers: Record<'open' | 'closed', WorkerServer | undefined> = { open: undefined, closed: undefined }
  let broker: EmbeddedBroker
  let routes: RouteSource
  let relay: Relay
  let sender: TestClient
  let recipient: string
  const crashes: unknown[] = []
  const onCrash = (err: unknown) => void crashes.push(err)

  const table = (policy: 'open' | 'closed'): RouteTable => ({
    default: { url: workers[policy]!.url },
    timeout_ms: ROUTE_TIMEOUT_MS,
    actions: {},
  })

  beforeAll(async () => {
    process.on('unhandledRejection', onCrash)
    process.on('uncaughtException', onCrash)
    database = await createRealDatabase()
    await migrate(database.url)
    const pg = new URL(database.url)
    pgProxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) })
    const viaProxy = new URL(database.url)
    viaProxy.hostname = pgProxy.host
    viaProxy.port = String(pgProxy.port)
    neon = await startNeonEndpoint({ databaseUrl: viaProxy.toString(), maxConnections: 10 })
    neonProxy = await startTcpProxy({ port: neon.port })

    const redis = new URL(realRedisUrl)
    redisProxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) })
    const redisViaProxy = new URL(realRedisUrl)
    redisViaProxy.hostname = redisProxy.host
    redisViaProxy.port = String(redisProxy.port)
    limiter = await startUpstashEndpoint({
      redisUrl: redisViaProxy.toString(),
      token: randomBytes(16).toString('base64url'),
    })

    dir = await mkdtemp(join(tmpdir(), 'mchat-deps-'))
    h = await workerHarness(
      {
        kind: 'postgres',
        databaseUrl: viaProxy.toString(),
        neonEndpoint: neonProxy.url('http', '/sql'),
        close: async () => {},
      },
      dir,
    )
    for (const policy of ['open', 'closed'] as const) {
      workers[policy] = await serveWorkers({
        ...h.env,
        UPSTASH_REDIS_REST_URL: limiter.url,
        UPSTASH_REDIS_REST_TOKEN: limiter.token,
        RATE_LIMIT_ON_ERROR: policy,
        // Long enough not to fail open by accident on 2 busy cores; the stalled store still hits it.
        RATE_LIMIT_TIMEOUT_MS: '1000',
      })
    }
    const admin = 'admin.deps'
    const bound = await callAction(app, h, 'auth.bind', admin, { mqtt_password: h.admin.mqtt_connection.mqtt_password })
    if (bound.reply.code !== 0) throw new Error(`admin bind: ${JSON.stringify(bound.reply)}`)
    const s = await createAndBind(app, h, admin, { name: 'Sender', employee_id: 'dep_sender' })
    recipient = (await createAndBind(app, h, admin, { name: 'Recipient', employee_id: 'dep_recipient' })).employee_id

    broker = await startEmbeddedBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: null })
    routes = new RouteSource(table('open'))
    relay = await startRelay(
      {
        ...RELAY_DEFAULTS,
        mqttUrl: broker.url,
        clientId: 'relay-deps',
        shareGroup: '',
        workerUrl: workers.open!.url,
        privateKeyJwk: h.keys.relayPrivateJwk,
      },
      { routes, log: () => {}, info: () => {} },
    )
    await relay.ready
    sender = await connectClient(broker.url, s.clientId)
  }, 60_000)

  afterAll(async () => {
    await sender?.end()
    await relay?.drain()
    await broker?.close()
    await Promise.all(Object.values(workers).map((w) => w?.close()))
    await h?.close()
    await limiter?.close()
    await redisProxy?.close()
    await neonProxy?.close()
    await neon?.close()
    await pgProxy?.close()
    await database?.drop()
    if (dir) await rm(dir, { recursive: true, force: true })
    process.off('unhandledRejection', onCrash)
    process.off('uncaughtException', onCrash)
  })

  const orgTree = () => sender.request('org.tree', {})
  let n = 0
  /** A fresh seq_id per call, unless retrying one (then its earlier reply is forgotten first). */
  const send = (seq = `m${n++}`) => {
    const topic = `mchat/msg/resp/${sender.clientId}/${seq}`
    for (let i = sender.received.length - 1; i >= 0; i--)
      if (sender.received[i]!.topic === topic) sender.received.splice(i, 1)
    return sender.request('msg.send_private', { to_employee_id: recipient, content: `hello ${seq}` }, seq)
  }

  it('all up: code 0', async () => {
    expect((await orgTree()).code).toBe(0)
    expect((await send()).code).toBe(0)
  })

  it('PostgreSQL down: 503 "database unavailable" for reads and writes; served again when it returns, a retried write done once', async () => {
    await pgProxy.cut()
    expect(await orgTree()).toMatchObject({ code: Code.UNAVAILABLE, message: 'database unavailable' })
    expect(await send('db-1')).toMatchObject({ code: Code.UNAVAILABLE, message: 'database unavailable' })

    await pgProxy.restore()
    expect((await orgTree()).code).toBe(0)
    const retried = await send('db-1')
    expect(retried.code).toBe(0)
    expect((await send('db-1')).data).toEqual(retried.data) // and again: the stored reply
    const stored = await h.db.query(
      `SELECT count(*)::int AS n FROM request_reply WHERE client_id = $1 AND seq_id = 'db-1'`,
      [sender.clientId],
    )
    expect(stored.rows[0].n).toBe(1)
  })

  it('the database endpoint unreachable (Neon’s HTTP side): 503, then served again', async () => {
    await neonProxy.cut()
    expect(await orgTree()).toMatchObject({ code: Code.UNAVAILABLE, message: 'database unavailable' })
    expect((await send()).code).toBe(Code.UNAVAILABLE)
    await neonProxy.restore()
    expect((await orgTree()).code).toBe(0)
    expect((await send()).code).toBe(0)
  })

  it('PostgreSQL hanging: 504 from the relay’s route timeout, not a hang; served again when it answers', async () => {
    await pgProxy.stall()
    expect(await orgTree()).toMatchObject({ code: Code.TIMEOUT, message: 'worker timed out' })
    await pgProxy.restore()
    expect((await orgTree()).code).toBe(0)
  })

  it('rate-limit store down: served under RATE_LIMIT_ON_ERROR=open, 503 under closed; both serve normally once it is back', async () => {
    await redisProxy.cut()
    expect((await send()).code).toBe(0)
    expect((await orgTree()).code).toBe(0)

    routes.set(table('closed'), 'test: closed policy')
    expect(await send()).toMatchObject({ code: Code.UNAVAILABLE, message: 'rate limiter unavailable; retry later' })
    expect((await orgTree()).code).toBe(Code.UNAVAILABLE)

    await redisProxy.restore()
    // Under `closed` a 0 proves the limiter answered again (its client reconnects by itself).
    await until(async () => (await orgTree()).code === 0, 15_000, 'the limiter to answer again')
    expect((await send()).code).toBe(0)
    routes.set(table('open'), 'test: open policy')
  })

  it('rate-limit store hanging: the bounded wait, then the same policy', async () => {
    await redisProxy.stall()
    expect((await send()).code).toBe(0)
    routes.set(table('closed'), 'test: closed policy')
    expect(await send()).toMatchObject({ code: Code.UNAVAILABLE, message: 'rate limiter unavailable; retry later' })
    await redisProxy.restore()
    await until(async () => (await orgTree()).code === 0, 15_000, 'the limiter to answer again')
    routes.set(table('open'), 'test: open policy')
  })

  it('nothing crashed, and the relay was never restarted', () => {
    expect(crashes).toEqual([])
    expect(relay.isReady()).toBe(true)
  })
})

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
