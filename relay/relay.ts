import mqtt, { type MqttClient } from 'mqtt'
import {
  Code,
  REQUEST_FILTER,
  checkEnvelope,
  fail,
  isActionName,
  isDeliveryTopic,
  opsCanaryTopic,
  parseRequestTopic,
  replyTopic,
  sharedRequestFilter,
  type Delivery,
  type Reply,
} from '../schema/index.ts'
import type { RelayConfig } from './config.ts'
import { forward } from './forward.ts'
import { jsonLineLogger, type RequestLogger } from './log.ts'
import { CanaryAnalyzer } from './canary-analysis.ts'
import type { RelayMetrics } from './metrics.ts'
import { RouteSource } from './route-source.ts'
import { pickRoute, singleTarget } from './routes.ts'
import { createSigner, type Signer } from './sign.ts'

export interface Relay {
  /** Resolves once subscribed (ready to serve). */
  ready: Promise<void>
  inFlight(): number
  /** Subscribed and not draining: what the health endpoint reports. */
  isReady(): boolean
  /** Stops taking requests, finishes those in flight, then disconnects (keeping the session). */
  drain(): Promise<void>
}

export interface RelayOptions {
  log?: RequestLogger
  /** Operational messages (connect, errors). */
  info?: (msg: string) => void
  /** Per-action targets and canaries; default: every action to `config.workerUrl`. */
  routes?: RouteSource
  metrics?: RelayMetrics
}

/**
 * The relay: holds the (shared) subscription to every request topic, turns each request into one
 * signed call to its worker route, publishes the deliveries the worker asks for, then the reply.
 * It owns no business rules and no database.
 */
export async function startRelay(config: RelayConfig, opts: RelayOptions = {}): Promise<Relay> {
  const log = opts.log ?? jsonLineLogger
  const info = opts.info ?? ((m: string) => console.error(`relay: ${m}`))
  const signer = await createSigner(config.privateKeyJwk)
  const routes = opts.routes ?? new RouteSource(singleTarget(config.workerUrl))
  const metrics = opts.metrics
  const shown = new Set<string>()
  const showWeights = (t: typeof routes.current) => {
    // An action dropped from the table keeps no stale weight.
    for (const action of shown) if (!t.actions[action]?.canary) metrics?.canaryWeight(action, 0)
    shown.clear()
    for (const [action, r] of Object.entries(t.actions)) {
      if (!r.canary) continue
      metrics?.canaryWeight(action, r.canary.weight)
      shown.add(action)
    }
  }
  showWeights(routes.current)
  routes.onChange(showWeights)
  const analyzer = new CanaryAnalyzer(routes, {
    metrics,
    onEvent: (e) => {
      info(JSON.stringify(e))
      if (client.connected) client.publish(opsCanaryTopic(e.action), JSON.stringify({ ...e, relay: config.clientId, at: new Date().toISOString() }), { qos: 1, retain: true })
    },
  })
  const filter = config.shareGroup ? sharedRequestFilter(config.shareGroup) : REQUEST_FILTER

  const client = mqtt.connect(config.mqttUrl, {
    clientId: config.clientId,
    clean: false, // persistent session: requests queued while we reconnect are kept for us
    protocolVersion: 4,
    reconnectPeriod: 1000,
    manualConnect: true,
    ...(config.mqttUsername ? { username: config.mqttUsername, password: config.mqttPassword } : {}),
  })

  let active = 0 // open requests, until their reply is PUBACKed (what drain waits for)
  let working = 0 // requests holding an in-flight slot: until their worker call is over
  let draining = false
  const waiting: Array<() => void> = []
  const idle: Array<() => void> = []

  // Backpressure: MQTT.js reads the next packet only after this callback, so holding it while
  // `maxInFlight` requests are open bounds the work in flight without serialising it.
  // While it is held MQTT.js processes no incoming packet at all, PUBACKs included, so a slot must
  // be released before its request waits for any PUBACK (see `release` in handle), or it deadlocks.
  client.handleMessage = (_packet, done) => {
    if (working < config.maxInFlight) done()
    else waiting.push(() => done())
  }

  // Attached before connecting: on session resume the broker sends stored requests right behind CONNACK.
  client.on('message', (topic, payload) => {
    active++
    working++
    let released = false
    const release = () => {
      if (released) return
      released = true
      working--
      if (working < config.maxInFlight) waiting.shift()?.()
    }
    const started = performance.now()
    metrics?.requestStarted()
    let outcome: { action: string; target: string; code: number; variant?: 'stable' | 'canary' } = { action: '-', target: '-', code: 500 }
    handle({ client, sign: signer, config, info, routes, metrics }, topic, payload, release)
      .then((r) => {
        if (!r) return
        const { target, ...line } = r
        // Labels only from known actions: a client-chosen name must not mint new series.
        outcome = { action: isActionName(r.action) ? r.action : '-', target: target ?? '-', code: r.code, ...(r.variant ? { variant: r.variant } : {}) }
        log({ ...line, latency_ms: Math.round((performance.now() - started) * 100) / 100 })
      })
      .catch((err: Error) => info(`request on ${topic} failed: ${err.message}`))
      .finally(() => {
        const ms = performance.now() - started
        metrics?.requestFinished({ action: outcome.action, target: outcome.target, code: outcome.code, seconds: ms / 1000 })
        if (outcome.variant) analyzer.record(outcome.action, outcome.variant, outcome.code, ms)
        release()
        active--
        if (active === 0) idle.splice(0).forEach((f) => f())
      })
  })

  let markReady: () => void
  let markFailed: (e: Error) => void
  const ready = new Promise<void>((resolve, reject) => ((markReady = resolve), (markFailed = reject)))

  let subscribed = false
  client.on('connect', () => {
    ;(client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true)
    if (draining) return
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      if (err || granted?.[0]?.qos === 128) return markFailed(new Error(`subscribe ${filter} refused`))
      subscribed = true
      info(`subscribed ${filter} as ${config.clientId}`)
      markReady()
    })
  })
  client.on('error', (err) => info(`mqtt error: ${err.message}`))
  client.on('close', () => (subscribed = false))
  client.on('offline', () => info('mqtt offline, reconnecting'))
  client.connect()

  let drained: Promise<void> | undefined
  return {
    ready,
    inFlight: () => active,
    isReady: () => subscribed && !draining && client.connected,
    // Idempotent: ending an MQTT.js client a second time never calls back.
    drain: () =>
      (drained ??= (async () => {
        draining = true
        analyzer.stop()
        // In a share group, leaving hands new requests to the other members at once. A lone relay
        // stays subscribed so its persistent session queues what arrives until it is back.
        if (config.shareGroup && client.connected) await client.unsubscribeAsync(filter).catch(() => {})
        if (active > 0) {
          await Promise.race([
            new Promise<void>((r) => idle.push(r)),
            new Promise<void>((r) => setTimeout(r, config.drainTimeoutMs).unref()),
          ])
        }
        // Forced once the drain timed out: a graceful end waits for every outstanding PUBACK, which
        // never comes while the broker is unreachable.
        await client.endAsync(active > 0)
      })()),
  }
}

type Handled = { client_id: string; seq_id: string; action: string; code: number; variant?: 'stable' | 'canary'; target?: string } | null

/** `release` frees the request's in-flight slot; called before anything waits for a PUBACK. */
interface HandleDeps {
  client: MqttClient
  sign: Signer
  config: RelayConfig
  info: (msg: string) => void
  routes: RouteSource
  metrics: RelayMetrics | undefined
}

async function handle({ client, sign, config, info, routes, metrics }: HandleDeps, topic: string, payload: Buffer, release: () => void): Promise<Handled> {
  const t = parseRequestTopic(topic)
  if (t.client_id === undefined || t.seq_id === undefined) return null // cannot be an answerable request
  const { client_id, seq_id } = t
  const respond = async (reply: Reply, action = '-', route?: { variant: 'stable' | 'canary'; target: string }) => {
    release()
    // seq_id is the topic's: a seq_id in the worker's reply line must not override it.
    const body = { seq_id, code: reply.code, message: reply.message, data: reply.data }
    await client.publishAsync(replyTopic(client_id, seq_id), JSON.stringify(body), { qos: 1 })
    return { client_id, seq_id, action, code: reply.code, ...(route ? { variant: route.variant, target: route.target } : {}) }
  }

  if (!t.ok) return respond(fail(Code.BAD_REQUEST, t.error))
  if (payload.length > config.maxRequestBytes) {
    return respond(fail(Code.PAYLOAD_TOO_LARGE, `request is larger than ${config.maxRequestBytes} bytes`))
  }
  let body: unknown
  try {
    body = JSON.parse(payload.toString('utf8'))
  } catch {
    return respond(fail(Code.BAD_REQUEST, 'payload is not valid JSON'))
  }
  const env = checkEnvelope(body, seq_id)
  if (!env.ok) return respond(fail(Code.BAD_REQUEST, env.message))
  if (!isActionName(env.action)) return respond(fail(Code.NOT_FOUND, `unknown action "${env.action}"`), env.action)

  const token = await sign({ action: env.action, clientId: client_id, seqId: seq_id, body: payload })
  // Picked once: a route table replaced meanwhile does not move this request.
  const route = pickRoute(routes.current, env.action, client_id, config.workerTimeoutMs)
  const published: Promise<unknown>[] = []
  const reply = await forward({
    url: route.url,
    headers: route.headers,
    token,
    action: env.action,
    body: payload,
    timeoutMs: route.timeoutMs,
    onFailure: (kind) => metrics?.workerError({ action: env.action, target: route.target, kind }),
    onDelivery: (d: Delivery) => {
      // The worker may only ask for delivery namespaces; replies are addressed by the relay alone.
      if (!isDeliveryTopic(d.topic)) return info(`${env.action} asked to publish on ${d.topic}: refused`)
      const p = client.publishAsync(d.topic, JSON.stringify(d.payload), { qos: 1, retain: d.retain ?? false })
      // Counted once accepted; the empty handler keeps a failure before the await below from going unhandled.
      p.then(() => metrics?.deliveryPublished(), () => {})
      published.push(p)
    },
  })
  release()
  // The sender hears "sent" only once the broker has accepted every delivery.
  await Promise.all(published)
  return respond(reply, env.action, route)
}
