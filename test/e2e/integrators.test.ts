import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadOrCreateKeys } from '../../local/keys.ts'
import { RELAY_DEFAULTS } from '../../relay/config.ts'
import { startRelay, type Relay } from '../../relay/relay.ts'
import { replyTopic, requestTopic, type SystemNotice } from '../../schema/index.ts'
import { connect, MChatError, type MChatClient } from '../../sdk/index.ts'
import { superuserLogin } from '../support/logins.ts'
import { connectMqtt } from '../support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/** What an integrator meets first, over MQTT through the relay and the workers. */
let sys: TestSystem
let admin: MChatClient
let bob: MChatClient
const open: Array<{ close(): Promise<void> } | MqttClient> = []

beforeAll(async () => {
  sys = await startTestSystem()
  admin = await connect(sys.admin.mqtt_connection, { deviceId: 'integrator' })
  const created = await admin.request('employee.create', { employee_id: 'int_bob', name: 'Bob' })
  bob = await connect(created.mqtt_connection, { deviceId: 'phone' })
  open.push(admin, bob)
}, 90_000)

afterAll(async () => {
  for (const c of open.reverse()) await ('endAsync' in c ? c.endAsync(true) : c.close()).catch(() => {})
  await sys?.close()
})

describe('integrators over MQTT', () => {
  it('group.members: a member reads the list page by page; an outsider is refused', async () => {
    const g = await admin.request('group.create', { name: 'Integrators', member_ids: ['int_bob'] })
    const first = await bob.request('group.members', { group_id: g.group_id, limit: 1 })
    expect(first).toMatchObject({ group_id: g.group_id, member_count: 2, next_cursor: 'admin' })
    expect(first.members.map((m) => [m.employee_id, m.role])).toEqual([['admin', 'owner']])
    const second = await bob.request('group.members', { group_id: g.group_id, limit: 1, cursor: first.next_cursor! })
    expect(second.members.map((m) => [m.employee_id, m.role])).toEqual([['int_bob', 'member']])
    expect(second.next_cursor).toBeNull()
    const carol = await connect(
      (await admin.request('employee.create', { employee_id: 'int_carol', name: 'Carol' })).mqtt_connection,
      {
        deviceId: 'pc',
      },
    )
    open.push(carol)
    const err = await carol.request('group.members', { group_id: g.group_id }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MChatError)
    expect(err).toMatchObject({ code: 403 })
  })

  it('system.broadcast: everyone hears the announcement on mchat/system/notify', async () => {
    const heard: SystemNotice[] = []
    bob.on('notice', (n) => void heard.push(n))
    const { challenge_id, token } = await admin.request('auth.challenge', {})
    const sent = await admin.request('system.broadcast', {
      title: '停机维护',
      content: '今晚 22:00',
      challenge_id,
      token,
    })
    await vi.waitFor(() => expect(heard.map((n) => n.notify_id)).toContain(sent.notify_id))
    expect(heard.find((n) => n.notify_id === sent.notify_id)).toEqual({
      notify_id: sent.notify_id,
      type: 'announcement',
      title: '停机维护',
      body: { content: '今晚 22:00', operator_id: 'admin' },
      created_at: sent.created_at,
    })
    const audited = await admin.request('audit.query', { action_name: 'system.broadcast' })
    expect(audited.entries[0]).toMatchObject({ operator_employee_id: 'admin', result_code: 0 })
  })

  it('a NUL or an unpaired surrogate is refused naming the field, not with the database’s message', async () => {
    for (const [payload, field] of [
      [{ name: 'Eve\u0000' }, 'name'],
      [{ name: 'Eve', employee_id: 'int_eve', skills_badge: ['ok', 'x\ud800'] }, 'skills_badge.1'],
    ] as const) {
      const err = await admin.request('employee.create', payload as never).catch((e: unknown) => e)
      expect(err).toMatchObject({
        code: 400,
        message: `${field}: must not contain U+0000 or an unpaired surrogate (they cannot be stored)`,
      })
    }
    const g = await admin
      .request('group.create', { name: 'nul\u0000group', member_ids: ['int_bob'] })
      .catch((e: unknown) => e)
    expect(g).toMatchObject({ code: 400, message: expect.stringMatching(/^name: must not contain U\+0000/) })
  })

  it(
    'a request published with retain is answered once and never again when another relay subscribes',
    { timeout: 30_000 },
    async () => {
      const cid = 'int_retain.raw'
      const raw = await connectMqtt(sys.mqttUrl, {
        clientId: cid,
        protocolVersion: 4,
        ...(await superuserLogin(sys.dataDir, cid)),
      })
      open.push(raw)
      const replies: string[] = []
      raw.on('message', (t) => void (t.startsWith('mchat/msg/resp/') && replies.push(t)))
      await raw.subscribeAsync(replyTopic(cid, '+'), { qos: 1 })
      await raw.publishAsync(requestTopic(cid, 'ret1'), JSON.stringify({ action: 'org.tree' }), {
        qos: 1,
        retain: true,
      })
      await new Promise((r) => setTimeout(r, 500))
      expect(replies.length).toBeLessThanOrEqual(1)
      const before = replies.length

      const keys = await loadOrCreateKeys(sys.dataDir)
      const infos: string[] = []
      const late: Relay = await startRelay(
        {
          ...RELAY_DEFAULTS,
          mqttUrl: sys.mqttUrl,
          clientId: 'relay-int-late',
          shareGroup: '',
          workerUrl: sys.workerUrl,
          privateKeyJwk: keys.relayPrivateJwk,
        },
        { log: () => {}, info: (m) => infos.push(m) },
      )
      open.push({ close: () => late.drain() })
      await late.ready
      await vi.waitFor(() =>
        expect(infos).toContain(`retained request on ${requestTopic(cid, 'ret1')} ignored and cleared`),
      )
      await new Promise((r) => setTimeout(r, 300))
      expect(replies.length).toBe(before)
    },
  )

  it('client ids of the seed’s form {employee_id}_{device_id}_{uuid}: they bind and chat; a shorter id cannot bind a longer one’s', async () => {
    // int_dev_x first: created after int_dev it would be refused (it extends int_dev's id).
    const x = await admin.request('employee.create', { employee_id: 'int_dev_x', name: 'Dev X' })
    const dev = await admin.request('employee.create', { employee_id: 'int_dev', name: 'Dev' })
    const underscore = (c: typeof dev.mqtt_connection) => ({ ...c, client_id_scheme: '{employee_id}_{device_id}' })
    const phone = await connect(underscore(dev.mqtt_connection), { deviceId: `phone_${crypto.randomUUID()}` })
    const tablet = await connect(underscore(dev.mqtt_connection), { deviceId: 'tablet' })
    open.push(phone, tablet)
    const onTablet: string[] = []
    tablet.on('message', (m) => void onTablet.push(`${m.conversation} ${m.from_employee_id} ${String(m.content)}`))
    const onBob: string[] = []
    bob.on('message', (m) => void onBob.push(`${m.from_employee_id} ${String(m.content)}`))
    await phone.sendPrivate('int_bob', 'from the phone')
    await vi.waitFor(() => expect(onBob).toContain('int_dev from the phone'))
    // The sender copy reaches the employee's other underscore-form device.
    await vi.waitFor(() => expect(onTablet).toContain('private:int_bob int_dev from the phone'))

    // Without broker hooks (Mosquitto) auth.bind is the check: int_dev cannot bind int_dev_x's ids.
    const err = await connect(underscore(dev.mqtt_connection), { deviceId: 'x_phone' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MChatError)
    expect(err).toMatchObject({ code: 403, message: expect.stringMatching(/^client_id belongs to int_dev_x/) })
    const own = await connect(underscore(x.mqtt_connection), { deviceId: 'phone' })
    open.push(own)
    expect((await own.request('org.tree', {})).departments).toBeDefined()
  })
})
