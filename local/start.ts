import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { migrate } from '../schema/migrate.ts'
import { startRelay, type Relay } from '../relay/relay.ts'
import { AGENT_RELAY_TIMEOUT_MS, RELAY_DEFAULTS } from '../relay/config.ts'
import type { RequestLogger } from '../relay/log.ts'
import { createRelayMetrics, type RelayMetrics } from '../relay/metrics.ts'
import { startOpsServer } from '../relay/ops-server.ts'
import type { Bindings } from '../workers/env.ts'
import { serveWorkers } from '../workers/entry/node.ts'
import { ensureAdmin, type AdminFile } from './bootstrap.ts'
import { startEmbeddedBroker } from './broker.ts'
import { startBrokerApi } from './broker-api.ts'
import { httpBrokerHooks, type HookTarget } from './broker-hooks.ts'
import { loadOrCreateKeys } from './keys.ts'
import { startNeonEndpoint } from './neon-endpoint.ts'
import { startPglite } from './postgres.ts'
import { startLocalS3 } from './s3.ts'
import { startUpstashEndpoint } from './upstash-endpoint.ts'
import { startWebServer } from './web.ts'

export interface SystemOptions {
  dataDir: string
  host: string
  /** What clients are told to connect to (mqtt_connection.broker_host). */
  publicHost: string
  mqttPort: number
  wsPort: number | null
  httpPort: number
  /** A real PostgreSQL instead of the embedded PGlite. */
  databaseUrl?: string | undefined
  /** An external broker instead of the embedded one. */
  mqttUrl?: string | undefined
  /** A real Redis for the rate limiter instead of the in-process stand-in. */
  redisUrl?: string | undefined
  /** The local S3-compatible server's port (0: any free one). */
  s3Port?: number | undefined
  /** Worker settings passed through as they are (RATE_LIMIT_*, CHALLENGE_TTL_SECONDS). */
  bindings?: Partial<Bindings> | undefined
  shareGroup?: string | undefined
  /**
   * The embedded broker asks the workers' authn/authz hooks (default). false: anyone may connect
   * and use any topic, as with a bare Mosquitto; only for tests of something else.
   */
  brokerAuth?: boolean | undefined
  relayId?: string | undefined
  /** The admin web console's port (0: any free one); null or absent: not served. */
  webPort?: number | null | undefined
  /** The relay's Prometheus /metrics, /healthz and /livez (0: any free port); null or absent: not served. */
  opsPort?: number | null | undefined
  /** Where the ops server listens; default `host`. */
  opsHost?: string | undefined
  log?: RequestLogger | undefined
  info?: ((msg: string) => void) | undefined
}

export interface System {
  admin: AdminFile
  mqttUrl: string
  wsUrl: string | null
  workerUrl: string
  databaseKind: 'pglite' | 'postgres'
  /** The database as the workers reach it (the Neon driver through the local endpoint). */
  databaseUrl: string
  neonEndpoint: string
  limiterKind: 'redis' | 'embedded'
  /** The local S3-compatible server the workers sign for (config.storage, file.*). */
  s3Endpoint: string
  /** The admin web console, when `webPort` asked for it. */
  webUrl: string | null
  /** The relay's ops server (/metrics, /healthz, /livez), when `opsPort` asked for it. */
  opsUrl: string | null
  relay: Relay
  /** Drains the relay, then stops everything in reverse order. */
  stop(): Promise<void>
}

/** The whole system in one process: broker, Postgres + Neon endpoint, workers, relay. */
export async function startSystem(o: SystemOptions): Promise<System> {
  const info = o.info ?? ((m: string) => console.error(m))
  const stops: Array<() => Promise<void>> = []
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => info(`stop: ${e.message}`))
  }
  try {
    const dataDir = resolve(o.dataDir)
    await mkdir(dataDir, { recursive: true })
    const keys = await loadOrCreateKeys(dataDir)

    let databaseUrl = o.databaseUrl
    if (!databaseUrl) {
      const pg = await startPglite({ dataDir: resolve(dataDir, 'pg') })
      stops.push(() => pg.close())
      databaseUrl = pg.url
    }
    await migrate(databaseUrl, (l) => info(`db: ${l}`))
    const neonEndpoint = await startNeonEndpoint({ databaseUrl, maxConnections: o.databaseUrl ? 10 : 1 })
    stops.push(() => neonEndpoint.close())

    let mqttUrl = o.mqttUrl
    let wsUrl: string | null = null
    let brokerPort = o.mqttPort
    // The workers' URL is known only once they run, after the broker they describe in mqtt_connection.
    const hookTarget: HookTarget = { url: null, secret: randomBytes(24).toString('base64url') }
    let brokerBindings: Partial<Bindings> = {}
    if (!mqttUrl) {
      const hooks = o.brokerAuth === false ? undefined : httpBrokerHooks(hookTarget, info)
      const broker = await startEmbeddedBroker({ host: o.host, mqttPort: o.mqttPort, wsPort: o.wsPort, hooks })
      stops.push(() => broker.close())
      mqttUrl = broker.url
      wsUrl = broker.wsUrl
      brokerPort = broker.mqttPort
      if (hooks) {
        const api = await startBrokerApi({
          aedes: broker.aedes,
          usernameOf: hooks.usernameOf,
          host: '127.0.0.1',
          port: 0,
          key: 'mchat-workers',
          secret: randomBytes(24).toString('base64url'),
        })
        stops.push(() => api.close())
        brokerBindings = {
          BROKER_HOOK_SECRET: hookTarget.secret,
          BROKER_ENFORCES_IDENTITY: 'true',
          BROKER_API_URL: api.url,
          BROKER_API_KEY: api.key,
          BROKER_API_SECRET: api.secret,
        }
      }
    } else {
      brokerPort = Number(new URL(mqttUrl).port || 1883)
    }

    // The rate limiter's store, behind the Upstash REST protocol the workers' client speaks.
    const limiter = await startUpstashEndpoint({ redisUrl: o.redisUrl, token: randomBytes(24).toString('base64url') })
    stops.push(() => limiter.close())

    // Object storage: clients upload and download there directly; the workers only sign.
    const s3 = await startLocalS3({
      host: o.host,
      publicHost: o.publicHost,
      port: o.s3Port ?? 0,
      directory: resolve(dataDir, 's3'),
    })
    stops.push(() => s3.close())

    const env: Bindings = {
      ...s3.bindings,
      ...o.bindings,
      ...brokerBindings,
      UPSTASH_REDIS_REST_URL: limiter.url,
      UPSTASH_REDIS_REST_TOKEN: limiter.token,
      DATABASE_URL: databaseUrl,
      NEON_FETCH_ENDPOINT: neonEndpoint.url,
      RELAY_PUBLIC_KEY: keys.relayPublicJwk,
      CREDENTIAL_SECRET: keys.credentialSecret,
      MQTT_PUBLIC_HOST: o.mqttUrl ? new URL(o.mqttUrl).hostname : o.publicHost,
      MQTT_PUBLIC_PORT: String(brokerPort),
      MQTT_PUBLIC_TLS: o.mqttUrl?.startsWith('mqtts:') ? 'true' : 'false',
    }
    const workers = await serveWorkers(env, o.httpPort, o.host)
    stops.push(() => workers.close())
    hookTarget.url = workers.url
    const admin = await ensureAdmin(env, dataDir)

    // Opened before the relay and so closed after its drain: /healthz says 503 while it drains.
    let relayReady = (): boolean => false
    let ops: { url: string; metrics: RelayMetrics } | null = null
    if (o.opsPort !== null && o.opsPort !== undefined) {
      const metrics = createRelayMetrics({ relay: o.relayId ?? 'mchat-relay-local' })
      const server = await startOpsServer({
        host: o.opsHost ?? o.host,
        port: o.opsPort,
        metrics,
        ready: () => relayReady(),
      })
      stops.push(() => server.close())
      ops = { url: server.url, metrics }
    }

    const relay = await startRelay(
      {
        ...RELAY_DEFAULTS,
        mqttUrl,
        clientId: o.relayId ?? 'mchat-relay-local',
        // The embedded broker (aedes) has no $share; an external one is assumed to (Mosquitto, EMQX).
        shareGroup: o.shareGroup ?? (o.mqttUrl ? RELAY_DEFAULTS.shareGroup : ''),
        workerUrl: workers.url,
        privateKeyJwk: keys.relayPrivateJwk,
        agentTimeoutMs: AGENT_RELAY_TIMEOUT_MS,
      },
      { log: o.log, info, ...(ops ? { metrics: ops.metrics } : {}) },
    )
    stops.push(() => relay.drain())
    relayReady = relay.isReady
    await relay.ready
    let webUrl: string | null = null
    if (o.webPort !== null && o.webPort !== undefined) {
      // The browser needs the broker's address as the outside sees it, not the bind address.
      const brokerUrl = wsUrl ? Object.assign(new URL(wsUrl), { hostname: o.publicHost }).toString() : null
      const web = await startWebServer({ host: o.host, port: o.webPort, brokerUrl, publicHost: o.publicHost, info })
      stops.push(() => web.close())
      webUrl = web.url
    }
    return {
      admin,
      mqttUrl,
      wsUrl,
      workerUrl: workers.url,
      databaseKind: o.databaseUrl ? 'postgres' : 'pglite',
      databaseUrl,
      neonEndpoint: neonEndpoint.url,
      limiterKind: limiter.kind,
      s3Endpoint: s3.endpoint,
      webUrl,
      opsUrl: ops?.url ?? null,
      relay,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

// Worker settings `npm start` takes from its environment.
const PASSED_THROUGH = [
  'RATE_LIMIT_MESSAGE',
  'RATE_LIMIT_MANAGEMENT',
  'RATE_LIMIT_TIMEOUT_MS',
  'RATE_LIMIT_ON_ERROR',
  'RATE_LIMIT_PREFIX',
  'CHALLENGE_TTL_SECONDS',
  'BROKER_HOOK_SECRET',
  'BROKER_ENFORCES_IDENTITY',
  'BROKER_API_URL',
  'BROKER_API_KEY',
  'BROKER_API_SECRET',
  'RATE_LIMIT_AGENT',
  'AGENT_WEBHOOK_ALLOW_HOSTS',
  'AGENT_BLOCKED_WORDS',
] as const
// A local agent (npm run agent:example) is reachable out of the box; a deployment lists nothing.
const LOCAL_DEFAULTS = { AGENT_WEBHOOK_ALLOW_HOSTS: '127.0.0.1,localhost' }

function port(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${raw}"`)
  return n
}

export async function main(): Promise<void> {
  const host = process.env.MCHAT_HOST || '127.0.0.1'
  const options: SystemOptions = {
    dataDir: process.env.MCHAT_DATA_DIR || '.mchat',
    host,
    publicHost: process.env.MCHAT_PUBLIC_HOST || (host === '0.0.0.0' ? 'localhost' : host),
    mqttPort: port('MCHAT_MQTT_PORT', 1883),
    wsPort: port('MCHAT_MQTT_WS_PORT', 8083),
    httpPort: port('MCHAT_HTTP_PORT', 8787),
    databaseUrl: process.env.DATABASE_URL || undefined,
    mqttUrl: process.env.MQTT_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    s3Port: port('MCHAT_S3_PORT', 4568),
    webPort: process.env.MCHAT_WEB_PORT === 'off' ? null : port('MCHAT_WEB_PORT', 8080),
    opsPort: process.env.MCHAT_OPS_PORT === 'off' ? null : port('MCHAT_OPS_PORT', 9464),
    opsHost: process.env.MCHAT_OPS_HOST || undefined,
    bindings: {
      ...LOCAL_DEFAULTS,
      ...Object.fromEntries(PASSED_THROUGH.filter((k) => process.env[k]).map((k) => [k, process.env[k]])),
    },
    shareGroup: process.env.MCHAT_SHARE_GROUP,
  }
  const system = await startSystem(options)
  const adminFile = resolve(options.dataDir, 'admin.json')
  const c = system.admin.mqtt_connection
  console.log(
    [
      `MChat ready — broker ${system.mqttUrl}${system.wsUrl ? ` (WebSocket ${system.wsUrl})` : ''}, workers ${system.workerUrl}, database ${system.databaseKind}, rate limiter ${system.limiterKind}`,
      `  admin credentials: ${adminFile}`,
      `  object storage (S3): ${system.s3Endpoint}`,
      ...(system.webUrl ? [`  admin web: ${system.webUrl} (sign in with admin.json)`] : []),
      ...(system.opsUrl
        ? [`  relay metrics and health: ${system.opsUrl}/metrics, ${system.opsUrl}/healthz, ${system.opsUrl}/livez`]
        : []),
      `  connect as the admin: client id ${c.mqtt_username}.<device>, username ${c.mqtt_username}, password from admin.json; then publish`,
      `  {"action":"auth.bind","mqtt_password":"<password>"} to mchat/msg/req/${c.mqtt_username}.cli/1 and read mchat/msg/resp/${c.mqtt_username}.cli/+`,
    ].join('\n'),
  )
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      console.error(`${signal}: draining and stopping`)
      system.stop().then(() => process.exit(0))
    })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((err: Error) => {
    console.error(`MChat failed to start: ${err.message}`)
    process.exit(1)
  })
}
