import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import {
  actions,
  AGENT_CALL_BUDGET_MS,
  AGENT_TRIGGER_ACTIONS,
  deviceId as deviceIdSchema,
  groupMessage,
  groupTopic,
  inboxTopic,
  presenceStatus,
  privateMessage,
  profileChange,
  profileTopic,
  readReceipt,
  reply as replySchema,
  replyFilter,
  requestTopic,
  statusTopic,
  SYSTEM_NOTIFY_TOPIC,
  systemNotice,
  type ActionName,
  type GroupMessage,
  type MessageContent,
  type MqttConnection,
  type PresenceStatus,
  type PrivateMessage,
  type ProfileChange,
  type ReadReceipt,
  type ReplyOf,
  type RequestInputOf,
  type SystemNotice,
} from '../schema/index.ts'
import { Emitter } from './emitter.ts'
import { MChatError } from './errors.ts'
import { MemoryHistory } from './history/memory.ts'
import { groupConversation, privateConversation, type HistoryMessage, type HistoryStore } from './history/store.ts'

export interface Presence extends PresenceStatus {
  employee_id: string
}

export interface ClientEvents {
  /** A private or group message, once per msg_id, already in the history store. */
  message: (m: HistoryMessage, raw: PrivateMessage | GroupMessage) => void
  notice: (n: SystemNotice) => void
  profile: (p: ProfileChange) => void
  receipt: (r: ReadReceipt) => void
  presence: (p: Presence) => void
  /** Every (re)connection, after the subscriptions are restored. */
  connect: () => void
  offline: () => void
  error: (e: Error) => void
}

export interface ConnectOptions {
  /** The device part of the client id (`{employee_id}.{device_id}`). */
  deviceId: string
  /** Broker URL instead of the one `mqtt_connection` names, e.g. `ws://host:8083/mqtt` in a browser. */
  url?: string
  history?: HistoryStore
  /** Per request, unless `timeouts` names the action (default 30 s; 80 s for msg.send_*, which may wait for agents). */
  timeoutMs?: number
  timeouts?: Partial<Record<ActionName, number>>
  /** Re-sends of a timed-out request, with the same seq_id (default 1). */
  retries?: number
  /** Requests waiting while offline (default 100); beyond it a request fails with 503. */
  queueLimit?: number
  reconnectPeriodMs?: number
  /** Extra MQTT.js options (e.g. a WebSocket `wsOptions`). */
  mqtt?: IClientOptions
}

interface Pending {
  action: ActionName
  seqId: string
  body: string
  attempts: number
  /** The connection it was last sent on: after a reconnect, only older ones go again. */
  sentOn?: number
  timer?: ReturnType<typeof setTimeout>
  resolve(data: unknown): void
  reject(err: Error): void
}

const now = () => new Date().toISOString()

/** A v4 UUID even where crypto.randomUUID is missing (a page that is not a secure context). */
function newSeqId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The client id the server expects, from the scheme employee.create handed out. */
export function clientIdOf(conn: MqttConnection, deviceId: string): string {
  const device = deviceIdSchema.safeParse(deviceId)
  if (!device.success) throw new MChatError(400, `deviceId: ${device.error.issues[0]?.message ?? 'invalid'}`)
  return conn.client_id_scheme.replace('{employee_id}', conn.mqtt_username).replace('{device_id}', deviceId)
}

export function brokerUrl(conn: MqttConnection): string {
  return `${conn.use_tls ? 'mqtts' : 'mqtt'}://${conn.broker_host}:${conn.broker_port}`
}

/**
 * One employee's connection: bound session, the topics it must hear, typed requests that retry
 * safely with the same seq_id, typed events, presence, and local history.
 */
export class MChatClient extends Emitter<ClientEvents> {
  readonly employeeId: string
  readonly clientId: string
  readonly history: HistoryStore
  readonly mqtt: MqttClient
  #pending = new Map<string, Pending>()
  #queue: Pending[] = []
  #groups = new Set<string>()
  #watched = new Set<string>()
  #presence = new Map<string, Presence>()
  #closed = false
  #connection = 0

  constructor(
    readonly connection: MqttConnection,
    readonly options: ConnectOptions,
  ) {
    super()
    this.employeeId = connection.mqtt_username
    this.clientId = clientIdOf(connection, options.deviceId)
    this.history = options.history ?? new MemoryHistory()
    this.mqtt = mqtt.connect(options.url ?? brokerUrl(connection), {
      clientId: this.clientId,
      username: connection.mqtt_username,
      password: connection.mqtt_password,
      protocolVersion: 4,
      // A persistent session: the broker keeps what arrives while this client is away.
      clean: false,
      reconnectPeriod: options.reconnectPeriodMs ?? 1000,
      connectTimeout: 10_000,
      will: {
        topic: statusTopic(this.employeeId),
        payload: JSON.stringify({ status: 'offline', updated_at: now() }),
        qos: 1,
        retain: true,
      },
      ...options.mqtt,
    })
    // Before CONNACK: a resumed session's queued messages arrive right behind it.
    this.mqtt.on('message', (topic, payload) => this.#onMessage(topic, payload))
    this.mqtt.on('connect', () => void this.#onConnect())
    this.mqtt.on('offline', () => this.emit('offline'))
    this.mqtt.on('error', (err) => this.emit('error', err))
  }

  get connected(): boolean {
    return this.mqtt.connected
  }

  /** The groups whose topics this client hears. */
  get groups(): ReadonlySet<string> {
    return this.#groups
  }

  /**
   * Sends one action and resolves with its typed `data`, or rejects with an MChatError carrying
   * the reply's code and message. A timeout or a reconnect re-sends the same seq_id: the server
   * answers a repeat with the first reply and never applies it twice.
   */
  request<A extends ActionName>(
    action: A,
    payload?: RequestInputOf<A>,
    opts: { seqId?: string } = {},
  ): Promise<ReplyOf<A>> {
    const seqId = opts.seqId ?? newSeqId()
    return new Promise<ReplyOf<A>>((resolve, reject) => {
      const p: Pending = {
        action,
        seqId,
        body: JSON.stringify({ action, ...payload }),
        attempts: 0,
        resolve: resolve as (d: unknown) => void,
        reject,
      }
      if (this.#closed) return reject(new MChatError(503, 'client is closed', null, action))
      if (this.connected) return this.#send(p)
      if (this.#queue.length >= (this.options.queueLimit ?? 100))
        return reject(new MChatError(503, 'offline and the request queue is full', null, action))
      this.#queue.push(p)
    })
  }

  /** Sends a private message and keeps it in the history; `quote` names the message it replies to. */
  async sendPrivate(
    to: string,
    content: MessageContent,
    quote?: { quote_msg_id: string },
  ): Promise<ReplyOf<'msg.send_private'>> {
    const data = await this.request('msg.send_private', { to_employee_id: to, content, ...quote })
    await this.history.add({
      msg_id: data.msg_id,
      conversation: privateConversation(to),
      from_employee_id: this.employeeId,
      content,
      sent_at: data.sent_at,
      ...quote,
    })
    return data
  }

  async sendGroup(
    groupId: string,
    content: MessageContent,
    quote?: { quote_msg_id: string },
  ): Promise<ReplyOf<'msg.send_group'>> {
    const data = await this.request('msg.send_group', { group_id: groupId, content, ...quote })
    await this.history.add({
      msg_id: data.msg_id,
      conversation: groupConversation(groupId),
      from_employee_id: this.employeeId,
      content,
      sent_at: data.sent_at,
      ...quote,
    })
    return data
  }

  /** Tells the sender (private) or the group that `m` was read. */
  readAck(m: HistoryMessage): Promise<ReplyOf<'msg.read_ack'>> {
    const [kind, id] = m.conversation.split(/:(.*)/s) as ['private' | 'group', string]
    return kind === 'group'
      ? this.request('msg.read_ack', { msg_id: m.msg_id, conversation_type: 'group', group_id: id })
      : this.request('msg.read_ack', {
          msg_id: m.msg_id,
          conversation_type: 'private',
          peer_employee_id: m.from_employee_id,
        })
  }

  /**
   * The last presence of `employeeId` (retained by the broker), or null if it never connected.
   * Watches it from then on: later changes arrive as `presence` events.
   */
  async presence(employeeId: string, waitMs = 500): Promise<Presence | null> {
    const known = this.#presence.get(employeeId)
    if (known) return known
    if (!this.#watched.has(employeeId)) {
      this.#watched.add(employeeId)
      await this.mqtt.subscribeAsync(statusTopic(employeeId), { qos: 1 })
    }
    // The retained message follows the SUBACK; give it a moment to land.
    const deadline = Date.now() + waitMs
    while (!this.#presence.has(employeeId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    return this.#presence.get(employeeId) ?? null
  }

  /** Publishes `offline` (the last will only fires on an unclean loss), then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const p of [...this.#pending.values(), ...this.#queue]) {
      clearTimeout(p.timer)
      p.reject(new MChatError(503, 'client closed', null, p.action))
    }
    this.#pending.clear()
    this.#queue = []
    if (this.connected) {
      await this.mqtt
        .publishAsync(statusTopic(this.employeeId), JSON.stringify({ status: 'offline', updated_at: now() }), {
          qos: 1,
          retain: true,
        })
        .catch(() => {})
    }
    await this.mqtt.endAsync()
    await this.history.close()
  }

  /** Binds the session and subscribes the groups: what `connect()` waits for. */
  async start(): Promise<this> {
    // The client's own `connect`: after the subscriptions, so the first reply cannot be missed.
    await new Promise<void>((resolve, reject) => {
      const offError = this.on('error', (err) => {
        offConnect()
        offError()
        reject(err)
      })
      const offConnect = this.on('connect', () => {
        offConnect()
        offError()
        resolve()
      })
    })
    await this.request('auth.bind', { employee_id: this.employeeId, mqtt_password: this.connection.mqtt_password })
    const { groups } = await this.request('group.list', {})
    await this.#join(groups.map((g) => g.group_id))
    return this
  }

  async #onConnect(): Promise<void> {
    const connection = ++this.#connection
    ;(this.mqtt.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
    try {
      const topics = [
        replyFilter(this.clientId),
        inboxTopic(this.employeeId),
        profileTopic(this.employeeId),
        SYSTEM_NOTIFY_TOPIC,
        ...[...this.#groups].map(groupTopic),
        ...[...this.#watched].map(statusTopic),
      ]
      await this.mqtt.subscribeAsync(topics, { qos: 1 })
      await this.mqtt.publishAsync(
        statusTopic(this.employeeId),
        JSON.stringify({
          status: 'online',
          updated_at: now(),
          device: this.options.deviceId,
          client_id: this.clientId,
        }),
        { qos: 1, retain: true },
      )
    } catch (err) {
      this.emit('error', err as Error)
      return
    }
    // Whatever was in flight when the connection dropped goes again, with its seq_id.
    for (const p of this.#pending.values()) if (p.sentOn! < connection) this.#send(p, false)
    for (const p of this.#queue.splice(0)) this.#send(p)
    this.emit('connect')
  }

  #send(p: Pending, counts = true): void {
    if (counts) p.attempts++
    p.sentOn = this.#connection
    this.#pending.set(p.seqId, p)
    clearTimeout(p.timer)
    // A message may wait for AI agents (up to the relay's agent budget): longer than other actions.
    const fallback = AGENT_TRIGGER_ACTIONS.includes(p.action) ? AGENT_CALL_BUDGET_MS + 20_000 : 30_000
    const timeout = this.options.timeouts?.[p.action] ?? this.options.timeoutMs ?? fallback
    p.timer = setTimeout(() => {
      if (p.attempts <= (this.options.retries ?? 1)) return this.#send(p)
      this.#pending.delete(p.seqId)
      p.reject(new MChatError(504, `${p.action}: no reply within ${timeout} ms`, null, p.action))
    }, timeout)
    this.mqtt.publish(requestTopic(this.clientId, p.seqId), p.body, { qos: 1 }, (err) => {
      if (err && !this.#closed) this.emit('error', err)
    })
  }

  #onReply(seqId: string, payload: unknown): void {
    const p = this.#pending.get(seqId)
    if (!p) return // a late answer to a retry already settled
    this.#pending.delete(seqId)
    clearTimeout(p.timer)
    const r = replySchema.safeParse(payload)
    if (!r.success) return p.reject(new MChatError(500, 'reply is not {code, message, data}', null, p.action))
    if (r.data.code !== 0) return p.reject(new MChatError(r.data.code, r.data.message, r.data.data, p.action))
    const data = actions[p.action].reply.safeParse(r.data.data)
    if (!data.success)
      return p.reject(new MChatError(500, `reply data does not match the ${p.action} contract`, r.data.data, p.action))
    p.resolve(data.data)
  }

  #onMessage(topic: string, buf: Uint8Array): void {
    let payload: unknown
    try {
      payload = JSON.parse(new TextDecoder().decode(buf))
    } catch {
      return this.emit('error', new Error(`not JSON on ${topic}`))
    }
    const [, kind, id, seq] = topic.split('/') as [string, string, string, string?]
    if (kind === 'msg' && seq !== undefined) return this.#onReply(topic.slice(topic.lastIndexOf('/') + 1), payload)
    if (kind === 'status') {
      const s = presenceStatus.safeParse(payload)
      if (s.success) {
        const p = { employee_id: id, ...s.data }
        this.#presence.set(id, p)
        this.emit('presence', p)
      }
      return
    }
    if (kind === 'profile') {
      const p = profileChange.safeParse(payload)
      if (p.success) this.emit('profile', p.data)
      return
    }
    void this.#onDelivery(kind, id, payload).catch((err: Error) => this.emit('error', err))
  }

  async #onDelivery(kind: string, id: string | undefined, payload: unknown): Promise<void> {
    const receipt = readReceipt.safeParse(payload)
    if (receipt.success) return this.emit('receipt', receipt.data)
    if (kind === 'group') {
      const m = groupMessage.safeParse(payload)
      if (m.success) await this.#received(groupConversation(m.data.group_id), m.data)
      return
    }
    const m = privateMessage.safeParse(payload)
    // The sender's copy of what this employee sent from another device belongs with the recipient.
    const peer = (p: PrivateMessage) => (p.from_employee_id === this.employeeId ? p.to_employee_id : p.from_employee_id)
    if (m.success) return this.#received(privateConversation(peer(m.data)), m.data)
    const n = systemNotice.safeParse(payload)
    if (!n.success) return
    if (kind === 'inbox' && id === this.employeeId) {
      if (n.data.type === 'member_joined') await this.#join([n.data.body.group_id])
      if (n.data.type === 'member_removed' || n.data.type === 'group_dismissed') await this.#leave(n.data.body.group_id)
    }
    this.emit('notice', n.data)
  }

  async #received(conversation: string, m: PrivateMessage | GroupMessage): Promise<void> {
    const kept: HistoryMessage = {
      msg_id: m.msg_id,
      conversation,
      from_employee_id: m.from_employee_id,
      content: m.content,
      sent_at: m.sent_at,
      ...(m.quote_msg_id !== undefined && { quote_msg_id: m.quote_msg_id }),
    }
    // A re-delivery (a sender's retry) has the same msg_id: it is neither kept nor announced twice.
    if (await this.history.add(kept)) this.emit('message', kept, m)
  }

  async #join(groupIds: string[]): Promise<void> {
    const fresh = groupIds.filter((g) => !this.#groups.has(g))
    for (const g of fresh) this.#groups.add(g)
    if (fresh.length > 0) await this.mqtt.subscribeAsync(fresh.map(groupTopic), { qos: 1 })
  }

  async #leave(groupId: string): Promise<void> {
    if (!this.#groups.delete(groupId)) return
    await this.mqtt.unsubscribeAsync(groupTopic(groupId))
  }
}

/** Connects, binds the session and subscribes everything the employee must hear (seed 000 §4). */
export function connect(connection: MqttConnection, options: ConnectOptions): Promise<MChatClient> {
  const client = new MChatClient(connection, options)
  return client.start().catch(async (err) => {
    await client.close().catch(() => {})
    throw err
  })
}
