import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { inboxTopic, replyFilter, type MqttConnection } from '../schema/index.ts'
import { superuserLogin } from '../test/support/logins.ts'
import { connectMqtt } from '../test/support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../test/support/system.ts'
import { connect, MChatError, type HistoryMessage, type MChatClient, type Presence } from './index.ts'
import { FileHistory } from './history/file.ts'

/** The SDK alone against the real broker, relay and workers (real services when present). */
let sys: TestSystem
let admin: MChatClient
let dir: string
const creds: Record<string, MqttConnection> = {}
const open: MChatClient[] = []

async function as(
  employeeId: string,
  deviceId: string,
  extra: Partial<Parameters<typeof connect>[1]> = {},
): Promise<MChatClient> {
  const c = await connect(creds[employeeId]!, { deviceId, reconnectPeriodMs: 200, ...extra })
  open.push(c)
  return c
}

/** Collects what a client announces. */
function record(c: MChatClient) {
  const got = {
    messages: [] as HistoryMessage[],
    receipts: [] as unknown[],
    presence: [] as Presence[],
    notices: [] as unknown[],
  }
  c.on('message', (m) => got.messages.push(m))
  c.on('receipt', (r) => got.receipts.push(r))
  c.on('presence', (p) => got.presence.push(p))
  c.on('notice', (n) => got.notices.push(n))
  return got
}

beforeAll(async () => {
  sys = await startTestSystem()
  dir = await mkdtemp(join(tmpdir(), 'mchat-sdk-'))
  creds.admin = sys.admin.mqtt_connection
  admin = await as('admin', 'sdk')
  for (const [employee_id, name] of [
    ['sdk_alice', 'Alice'],
    ['sdk_bob', 'Bob'],
  ] as const) {
    creds[employee_id] = (await admin.request('employee.create', { employee_id, name })).mqtt_connection
  }
}, 90_000)

afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => {})))
  await sys?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('the SDK end to end', () => {
  it('typed requests: data on success, MChatError with code and message on refusal', async () => {
    const tree = await admin.request('org.tree', {})
    expect(tree.employees.map((e) => e.employee_id)).toEqual(expect.arrayContaining(['admin', 'sdk_alice', 'sdk_bob']))
    const err = await admin
      .request('msg.send_private', { to_employee_id: 'sdk_nobody', content: 'x' })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MChatError)
    expect(err).toMatchObject({ code: 404, message: 'to_employee_id: no such employee', action: 'msg.send_private' })
  })

  it('multi-device: what one device sends privately reaches the sender’s other devices, filed under the recipient; quotes travel', async () => {
    const laptop = await as('sdk_alice', 'md-laptop')
    const phone = await as('sdk_alice', 'md-phone')
    const bob = await as('sdk_bob', 'md')
    const [onPhone, onBob] = [record(phone), record(bob)]
    const first = await bob.sendPrivate('sdk_alice', '在吗？')
    const sent = await laptop.sendPrivate('sdk_bob', '在，说吧', { quote_msg_id: first.msg_id })
    await vi.waitFor(() => expect(onPhone.messages.map((m) => m.msg_id)).toEqual([first.msg_id, sent.msg_id]))
    expect(onPhone.messages[1]).toEqual({
      msg_id: sent.msg_id,
      conversation: 'private:sdk_bob',
      from_employee_id: 'sdk_alice',
      content: '在，说吧',
      sent_at: sent.sent_at,
      quote_msg_id: first.msg_id,
    })
    // Both of Alice's devices hold the same conversation; Bob sees the quote.
    const ids = async (c: MChatClient) => (await c.history.page('private:sdk_bob')).messages.map((m) => m.msg_id).sort()
    expect(await ids(phone)).toEqual([first.msg_id, sent.msg_id].sort())
    expect(await ids(laptop)).toEqual([first.msg_id, sent.msg_id].sort())
    await vi.waitFor(() =>
      expect(onBob.messages.find((m) => m.msg_id === sent.msg_id)?.quote_msg_id).toBe(first.msg_id),
    )
  })

  it('two employees chat privately and in a group; a read receipt arrives; membership follows notices', async () => {
    const alice = await as('sdk_alice', 'laptop')
    const bob = await as('sdk_bob', 'phone', { history: await FileHistory.open(join(dir, 'bob.jsonl')) })
    const [a, b] = [record(alice), record(bob)]

    const sent = await alice.sendPrivate('sdk_bob', '你好 Bob')
    await vi.waitFor(() => expect(b.messages.map((m) => m.msg_id)).toContain(sent.msg_id))
    expect(b.messages[0]).toEqual({
      msg_id: sent.msg_id,
      conversation: 'private:sdk_alice',
      from_employee_id: 'sdk_alice',
      content: '你好 Bob',
      sent_at: sent.sent_at,
    })
    expect((await alice.history.page('private:sdk_bob')).messages.map((m) => m.msg_id)).toEqual([sent.msg_id])

    await bob.readAck(b.messages[0]!)
    await vi.waitFor(() =>
      expect(a.receipts).toEqual([
        expect.objectContaining({ type: 'read_ack', msg_id: sent.msg_id, reader_id: 'sdk_bob' }),
      ]),
    )

    // Bob learns of the group from the notice and subscribes its topic by himself.
    const g = await alice.request('group.create', { name: 'SDK group', member_ids: ['sdk_bob'] })
    await vi.waitFor(() => expect(bob.groups.has(g.group_id)).toBe(true))
    const gm = await alice.sendGroup(g.group_id, { type: 'text', body: '大家好' })
    await vi.waitFor(() => expect(b.messages.map((m) => m.msg_id)).toContain(gm.msg_id))
    expect(b.messages.find((m) => m.msg_id === gm.msg_id)!.conversation).toBe(`group:${g.group_id}`)

    // Removed: Bob stops hearing the group.
    await alice.request('group.member_remove', { group_id: g.group_id, member_ids: ['sdk_bob'] })
    await vi.waitFor(() => expect(bob.groups.has(g.group_id)).toBe(false))
    const after = await alice.sendGroup(g.group_id, 'not for Bob')
    const marker = await alice.sendPrivate('sdk_bob', 'marker')
    await vi.waitFor(() => expect(b.messages.map((m) => m.msg_id)).toContain(marker.msg_id))
    expect(b.messages.map((m) => m.msg_id)).not.toContain(after.msg_id)
  })

  it('presence: online after connecting, offline by the last will when the socket dies; after reconnecting messages and subscriptions are back', async () => {
    const alice = await as('sdk_alice', 'watch')
    const carol = (await admin.request('employee.create', { employee_id: 'sdk_carol', name: 'Carol' })).mqtt_connection
    creds.sdk_carol = carol
    const c = await as('sdk_carol', 'desk')
    const got = record(c)
    const g = await alice.request('group.create', { name: 'Carol group', member_ids: ['sdk_carol'] })
    await vi.waitFor(() => expect(c.groups.has(g.group_id)).toBe(true))

    expect(await alice.presence('sdk_carol')).toMatchObject({
      employee_id: 'sdk_carol',
      status: 'online',
      device: 'desk',
      client_id: 'sdk_carol.desk',
    })
    const seen = record(alice).presence
    c.mqtt.stream.destroy() // the socket dies without a DISCONNECT: the broker publishes the will
    await vi.waitFor(() => expect(seen.map((p) => p.status)).toContain('offline'), { timeout: 10_000 })
    await vi.waitFor(() => expect(seen.at(-1)?.status).toBe('online'), { timeout: 10_000 }) // MQTT.js reconnected

    const p = await alice.sendPrivate('sdk_carol', 'after reconnect')
    const m = await alice.sendGroup(g.group_id, 'group after reconnect')
    await vi.waitFor(() =>
      expect(got.messages.map((x) => x.msg_id)).toEqual(expect.arrayContaining([p.msg_id, m.msg_id])),
    )
  })

  it('a timed-out request is retried with the same seq_id: the recipient sees one message, not two', async () => {
    const dave = (await admin.request('employee.create', { employee_id: 'sdk_dave', name: 'Dave' })).mqtt_connection
    creds.sdk_dave = dave
    const d = await as('sdk_dave', 'one')
    const got = record(d)
    const rawDeliveries: string[] = []
    d.mqtt.on(
      'message',
      (topic, payload) => topic === inboxTopic('sdk_dave') && rawDeliveries.push(JSON.parse(payload.toString()).msg_id),
    )

    const sender = await as('sdk_alice', 'retry', { timeouts: { 'msg.send_private': 1500 }, retries: 2 })
    // Lose the first reply: the sender is deaf to replies until the message has reached Dave.
    await sender.mqtt.unsubscribeAsync(replyFilter(sender.clientId))
    const sending = sender.sendPrivate('sdk_dave', 'exactly once please')
    await vi.waitFor(() => expect(rawDeliveries).toHaveLength(1))
    await sender.mqtt.subscribeAsync(replyFilter(sender.clientId), { qos: 1 })
    const sent = await sending // answered by the retry, with the first reply's msg_id

    await vi.waitFor(() => expect(rawDeliveries).toEqual([sent.msg_id, sent.msg_id])) // delivered twice by the broker
    expect(got.messages.filter((m) => m.msg_id === sent.msg_id)).toHaveLength(1) // announced once
    expect((await d.history.page('private:sdk_alice')).messages.map((m) => m.msg_id)).toEqual([sent.msg_id])
  })

  it('history survives a restart and holds no duplicates', async () => {
    const path = join(dir, 'erin.jsonl')
    creds.sdk_erin = (await admin.request('employee.create', { employee_id: 'sdk_erin', name: 'Erin' })).mqtt_connection
    const alice = await as('sdk_alice', 'hist')
    const first = await as('sdk_erin', 'pc', { history: await FileHistory.open(path) })
    const got = record(first)
    const ids = [
      (await alice.sendPrivate('sdk_erin', 'one')).msg_id,
      (await alice.sendPrivate('sdk_erin', 'two')).msg_id,
    ]
    await vi.waitFor(() => expect(got.messages).toHaveLength(2))
    await first.close()

    const again = await as('sdk_erin', 'pc', { history: await FileHistory.open(path) })
    const page = await again.history.page('private:sdk_alice')
    expect(page.messages.map((m) => m.msg_id)).toEqual([...ids].reverse())
  })

  it('requests made while offline wait in a bounded queue and go out on reconnect', async () => {
    // A slow reconnect: the client stays offline long enough to queue.
    const c = await as('sdk_alice', 'queue', { queueLimit: 1, reconnectPeriodMs: 1500 })
    c.mqtt.stream.destroy()
    await vi.waitFor(() => expect(c.connected).toBe(false))
    const queued = c.request('org.tree', {})
    await expect(c.request('org.tree', {})).rejects.toMatchObject({ code: 503 })
    expect((await queued).employees.length).toBeGreaterThan(0)
  })

  it('sends each request once on a fresh connection (no resend of what the new connection carried), with seq_ids even without crypto.randomUUID', async () => {
    // Another client's request topic: only a superuser may watch it on a broker that enforces the ACL.
    const watcher = await connectMqtt(sys.mqttUrl, {
      clientId: 'watcher.once',
      ...(await superuserLogin(sys.dataDir, 'watcher.once')),
    })
    const seen: string[] = []
    watcher.on('message', (topic) => topic.startsWith('mchat/msg/req/sdk_alice.once/') && seen.push(topic))
    await watcher.subscribeAsync('mchat/msg/req/sdk_alice.once/+', { qos: 1 })

    const randomUUID = crypto.randomUUID
    try {
      // As in a browser page that is not a secure context.
      Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true })
      const c = await as('sdk_alice', 'once')
      await c.request('org.tree', {})
    } finally {
      Object.defineProperty(crypto, 'randomUUID', { value: randomUUID, configurable: true })
    }
    await vi.waitFor(() => expect(seen).toHaveLength(3)) // auth.bind, group.list, org.tree
    expect(new Set(seen).size).toBe(3)
    for (const t of seen)
      expect(t.split('/').at(-1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    await watcher.endAsync()
  })
})
