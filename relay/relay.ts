import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import {
  Code,
  REQUEST_FILTER,
  checkEnvelope,
  fail,
  isActionName,
  isDeliveryTopic,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  opsCanaryTopic,
  parseRequestTopic,
  replyTopic,
  sharedRequestFilter,
  type Delivery,
  type Reply,
} from '../schema/index.ts'
import { brokerLogin } from './broker-login.ts'
import type { RelayConfig } from './config.ts'
import { forward, type WorkerFetch } from './forward.ts'
import { fallsBack } from './fallback.ts'
import { jsonLineLogger, type RequestLogLine, type RequestLogger } from './log.ts'
import { CanaryAnalyzer } from './canary-analysis.ts'
import type { RelayMetrics } from './metrics.ts'
import { opsRoutes } from './ops-routes.ts'
import { RouteSource } from './route-source.ts'
import { pickRoute, singleTarget, type Target } from './routes.ts'
import { createSigner, type Signer } from './sign.ts'

export interface Relay {
  /** Resolves once subscribed (ready to serve). */
  ready: Promise<void>
  inFlight(): number
  /** Subscribed and not draining: what the health endpoint reports. */
  isReady(): boolean
  /** Stops taking requests, finishes those in flight, then disconnects (keeping the session). */
  drain(): Promise<void>
  /** The route table in force: from the file, the retained ops topic, or the canary analysis. */
  routes: RouteSource
}

export interface RelayOptions {
  log?: RequestLogger | undefined
  /** Operational messages (connect, errors). */
  info?: (msg: string) => void
  /** Per-action targets and canaries; default: every action to `config.workerUrl`. */
  routes?: RouteSource
  metrics?: RelayMetrics
  /** Calls the workers without HTTP (a Hono app's `fetch` with its bindings); default: the global fetch. */
  fetch?: WorkerFetch
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
  // Without configured credentials the relay logs in as the service account the broker hooks know.
  const login = config.mqttUsername ? null : await brokerLogin(config.privateKeyJwk, config.clientId)
  const routes = opts.routes ?? new RouteSource(singleTarget(config.workerUrl))
  const ops = opsRoutes(routes, info)
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
      if (client.connected)
        client.publish(
          opsCanaryTopic(e.action),
          JSON.stringify({ ...e, relay: config.clientId, at: new Date().toISOString() }),
          { qos: 1, retain: true },
        )
      ops.publish(client)
    },
  })
  const filter = config.shareGroup ? sharedRequestFilter(config.shareGroup) : REQUEST_FILTER

  const client = mqtt.connect(config.mqttUrl, {
    clientId: config.clientId,
    clean: false, // persistent session: requests queued while we reconnect are kept for us
    protocolVersion: 4,
    reconnectPeriod: 1000,
    manualConnect: true,
    ...(config.mqttUsername
      ? { username: config.mqttUsername, ...(config.mqttPassword !== undefined && { password: config.mqttPassword }) }
      : login
        ? { username: login.username, password: login.current() }
        : {}),
  })
  const stopLogin = login?.keepFresh(client)
  const acknowledge = holdAcknowledgements(client)

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
  client.on('message', (topic, payload, packet) => {
    const taken = acknowledge.taken(packet)
    if (ops.receive(topic, payload)) return taken.ack()
    if (packet.retain || payload.length === 0) return void ignoreRetained(topic, payload, taken)
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
    let outcome: { action: string; target: string; code: number; variant?: 'stable' | 'canary' } = {
      action: '-',
      target: '-',
      code: 500,
    }
    handle({ client, sign: signer, config, info, routes, metrics, workerFetch: opts.fetch }, topic, payload, release)
      .then((r) => {
        // Answered (or unanswerable): only now may the broker forget the request.
        taken.ack()
        if (!r) return
        const { target, ...line } = r
        // Labels only from known actions: a client-chosen name must not mint new series.
        outcome = {
          action: isActionName(r.action) ? r.action : '-',
          target: target ?? '-',
          code: r.code,
          ...(r.variant ? { variant: r.variant } : {}),
        }
        if (r.fallback) {
          // The user got stable's reply; the canary's failure still counts against it.
          analyzer.record(outcome.action, 'canary', r.fallback.code, r.fallback.latency_ms)
          metrics?.canaryFallback(outcome.action)
        }
        log({ ...line, latency_ms: Math.round((performance.now() - started) * 100) / 100 })
      })
      .catch((err: Error) => {
        // A reply that could not be published on a connection that is still up would never be
        // redelivered on it, only hold a slot of the broker's window; a lost connection is left to
        // the broker (ack() does nothing then).
        taken.ack()
        info(`request on ${topic} failed: ${err.message}`)
      })
      .finally(() => {
        const ms = performance.now() - started
        metrics?.requestFinished({
          action: outcome.action,
          target: outcome.target,
          code: outcome.code,
          seconds: ms / 1000,
        })
        if (outcome.variant) analyzer.record(outcome.action, outcome.variant, outcome.code, ms)
        release()
        active--
        if (active === 0) idle.splice(0).forEach((f) => f())
      })
  })

  // A request someone published with retain stays on the broker, and every new subscription (a
  // relay restarting, another joining the group) would get it again as a request. It was served
  // when it was published; this copy is dropped and the broker told to forget it, by an empty
  // retained message. An empty payload is MQTT's way to clear a retained message, never a request:
  // dropped, whoever sent it (every relay hears the echo of another's clearing).
  const ignoreRetained = (topic: string, payload: Buffer, taken: { ack(): void }) => {
    taken.ack()
    if (payload.length === 0) return
    info(`retained request on ${topic} ignored and cleared`)
    client.publish(topic, '', { qos: 1, retain: true })
  }

  let markReady: () => void
  let markFailed: (e: Error) => void
  const ready = new Promise<void>((resolve, reject) => ((markReady = resolve), (markFailed = reject)))

  let subscribed = false
  client.on('connect', () => {
    ;(client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true)
    if (draining) return
    // First, so the group's retained table is in force before the first request (on most brokers).
    ops.subscribe(client)
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
    routes,
    inFlight: () => active,
    isReady: () => subscribed && !draining && client.connected,
    // Idempotent: ending an MQTT.js client a second time never calls back.
    drain: () =>
      (drained ??= (async () => {
        draining = true
        analyzer.stop()
        stopLogin?.()
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

/**
 * PUBACKs of requests, held back until each request is answered. MQTT.js acknowledges a QoS 1
 * message as soon as it has read it, so a relay killed (SIGKILL, OOM, a lost machine) with
 * requests in the worker lost them all: the broker counted them as delivered. Held back, they stay
 * in the persistent session and the broker hands them to this client id again when it returns.
 * Serving one twice is safe: a worker answers a repeated (client_id, seq_id) with the same reply
 * and no second effect.
 *
 * The cost: the broker's window of unacknowledged messages per client (Mosquitto
 * `max_inflight_messages`, default 20; EMQX `max_inflight`) bounds the requests a relay works on at
 * once, so it should be at least `maxInFlight`.
 *
 * MQTT.js has no manual acknowledgement: its PUBACK goes through the private `_sendPacket`, which is
 * wrapped here to drop the automatic ones.
 */
function holdAcknowledgements(client: MqttClient): { taken(packet: IPublishPacket): { ack(): void } } {
  type SendPacket = (
    packet: { cmd: string; messageId?: number },
    cb?: (err?: Error) => void,
    ...rest: unknown[]
  ) => void
  const internals = client as unknown as { _sendPacket: SendPacket }
  const send = internals._sendPacket.bind(client)
  const ours = new WeakSet<object>()
  internals._sendPacket = (packet, cb, ...rest) => {
    // The callback lets MQTT.js read the next packet, as if the PUBACK had been written.
    if (packet.cmd === 'puback' && !ours.has(packet)) return cb?.()
    send(packet, cb, ...rest)
  }
  return {
    taken(packet) {
      // A packet id means something only on the connection it came on: after a reconnect the broker
      // redelivers what was not acknowledged, and the id may since name another message.
      const stream = client.stream
      let done = false
      return {
        ack() {
          if (done || packet.qos !== 1 || packet.messageId === undefined) return
          done = true
          if (!client.connected || client.stream !== stream) return
          const puback = { cmd: 'puback', messageId: packet.messageId }
          ours.add(puback)
          send(puback)
        },
      }
    },
  }
}

/** A canary's failure that stable answered instead. */
type Fallback = NonNullable<RequestLogLine['fallback']>

type Handled = {
  client_id: string
  seq_id: string
  action: string
  code: number
  variant?: 'stable' | 'canary'
  target?: string
  fallback?: Fallback
} | null

/** `release` frees the request's in-flight slot; called before anything waits for a PUBACK. */
interface HandleDeps {
  client: MqttClient
  sign: Signer
  config: RelayConfig
  info: (msg: string) => void
  routes: RouteSource
  metrics: RelayMetrics | undefined
  workerFetch: WorkerFetch | undefined
}

async function handle(
  { client, sign, config, info, routes, metrics, workerFetch }: HandleDeps,
  topic: string,
  payload: Buffer,
  release: () => void,
): Promise<Handled> {
  const t = parseRequestTopic(topic)
  if (t.client_id === undefined || t.seq_id === undefined) return null // cannot be an answerable request
  const { client_id, seq_id } = t
  const respond = async (reply: Reply, action = '-', route?: { variant: 'stable' | 'canary'; target: string }) => {
    release()
    // seq_id is the topic's: a seq_id in the worker's reply line must not override it.
    const body = { seq_id, code: reply.code, message: reply.message, data: reply.data }
    await client.publishAsync(replyTopic(client_id, seq_id), JSON.stringify(body), { qos: 1 })
    return {
      client_id,
      seq_id,
      action,
      code: reply.code,
      ...(route ? { variant: route.variant, target: route.target } : {}),
    }
  }

  if (!t.ok) return respond(fail(Code.BAD_REQUEST, t.error))
  if (payload.length > config.maxRequestBytes) {
    return respond(fail(Code.PAYLOAD_TOO_LARGE, `request is larger than ${config.maxRequestBytes} bytes`))
  }
  let body: unknown
  const text = payload.toString('utf8')
  // Checked before parsing: deep nesting costs the parser and every later walk of the value.
  if (nestedDeeperThan(text))
    return respond(fail(Code.BAD_REQUEST, `payload is nested deeper than ${MAX_JSON_DEPTH} levels`))
  try {
    body = JSON.parse(text)
  } catch {
    return respond(fail(Code.BAD_REQUEST, 'payload is not valid JSON'))
  }
  const env = checkEnvelope(body, seq_id)
  if (!env.ok) return respond(fail(Code.BAD_REQUEST, env.message))
  if (!isActionName(env.action)) return respond(fail(Code.NOT_FOUND, `unknown action "${env.action}"`), env.action)

  // Picked once: a route table replaced meanwhile does not move this request.
  const route = pickRoute(routes.current, env.action, client_id, config.workerTimeoutMs, config.agentTimeoutMs)
  const action = env.action
  const published: Promise<unknown>[] = []
  let delivered = false
  const started = performance.now()
  const call = async (target: Target, timeoutMs: number, firstLineMs?: number) =>
    forward({
      url: target.url,
      headers: target.headers,
      // A fresh token per call: each one is used once.
      token: await sign({ action, clientId: client_id, seqId: seq_id, body: payload }),
      action,
      body: payload,
      timeoutMs,
      firstLineMs,
      fetch: workerFetch,
      onFailure: (kind) => metrics?.workerError({ action, target: target.target, kind }),
      onDelivery: (d: Delivery) => {
        // The worker may only ask for delivery namespaces; replies are addressed by the relay alone.
        if (!isDeliveryTopic(d.topic)) return info(`${action} asked to publish on ${d.topic}: refused`)
        delivered = true
        const p = client.publishAsync(d.topic, JSON.stringify(d.payload), { qos: 1, retain: d.retain ?? false })
        // Counted once accepted; the empty handler keeps a failure before the await below from going unhandled.
        p.then(
          () => metrics?.deliveryPublished(),
          () => {},
        )
        published.push(p)
      },
    })
  let reply = await call(route, route.timeoutMs, route.fallback?.firstLineMs)
  let fallback: Fallback | undefined
  const left = route.timeoutMs - (performance.now() - started)
  if (fallsBack(route, reply.code, delivered) && left >= 1) {
    fallback = {
      variant: 'canary',
      target: route.target,
      code: reply.code,
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
    }
    reply = await call(route.fallback, Math.floor(left))
  }
  release()
  // The sender hears "sent" only once the broker has accepted every delivery.
  await Promise.all(published)
  const answered = await respond(
    reply,
    action,
    fallback ? { variant: 'stable', target: route.fallback!.target } : route,
  )
  return fallback ? { ...answered, fallback } : answered
}
