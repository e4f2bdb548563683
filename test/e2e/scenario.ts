import { expect } from 'vitest'
import { inboxTopic, msgSendPrivate, orgTree, privateMessage, type MqttConnection } from '../../schema/index.ts'
import { connectClient, type TestClient } from '../support/mqtt-client.ts'

export interface Target {
  mqttUrl: string
  admin: { employee_id: string; mqtt_connection: MqttConnection }
  /** The embedded broker refuses a connection without credentials; a bare Mosquitto lets it in. */
  brokerChecksLogins: boolean
}

/**
 * The "must show", through a real MQTT client: bind the admin, create a second employee,
 * bind it, send a private message and see it on the inbox, list both in org.tree; 401 unbound,
 * 400 with the field named, and every request answered.
 */
export async function runScenario(t: Target, tag: string): Promise<void> {
  const clients: TestClient[] = []
  try {
    const conn = t.admin.mqtt_connection
    const admin = await connectClient(t.mqttUrl, `${t.admin.employee_id}.${tag}`, {
      username: conn.mqtt_username,
      password: conn.mqtt_password,
    })
    clients.push(admin)
    expect(await admin.request('auth.bind', { mqtt_password: conn.mqtt_password })).toMatchObject({
      code: 0,
      message: 'ok',
    })

    const lisiId = `emp_lisi_${tag}`
    const created = await admin.request('employee.create', { name: '李四', employee_id: lisiId, is_ai_agent: false })
    expect(created.code).toBe(0)
    const lisiConn = created.data.mqtt_connection as MqttConnection
    expect(lisiConn.mqtt_username).toBe(lisiId)

    const lisi = await connectClient(t.mqttUrl, `${lisiId}.phone`, {
      username: lisiConn.mqtt_username,
      password: lisiConn.mqtt_password,
    })
    clients.push(lisi)
    await lisi.subscribe(inboxTopic(lisiId))
    expect((await lisi.request('auth.bind', { employee_id: lisiId, mqtt_password: lisiConn.mqtt_password })).code).toBe(
      0,
    )

    const sent = await admin.request('msg.send_private', {
      to_employee_id: lisiId,
      content: '你好，下午会议改到 3 点。',
    })
    expect(sent.code).toBe(0)
    const data = msgSendPrivate.reply.parse(sent.data)
    const delivered = await lisi.waitFor(inboxTopic(lisiId), (p) => p.msg_id === data.msg_id)
    expect(privateMessage.parse(delivered.payload)).toEqual({
      msg_id: data.msg_id,
      type: 'private',
      from_employee_id: t.admin.employee_id,
      to_employee_id: lisiId,
      content: '你好，下午会议改到 3 点。',
      sent_at: data.sent_at,
    })

    const tree = await lisi.request('org.tree')
    expect(tree.code).toBe(0)
    const ids = orgTree.reply.parse(tree.data).employees.map((e) => e.employee_id)
    expect(ids).toEqual(expect.arrayContaining([t.admin.employee_id, lisiId]))

    if (t.brokerChecksLogins) {
      await expect(connectClient(t.mqttUrl, `stranger.${tag}`)).rejects.toThrow(/bad username or password/i)
    } else {
      const stranger = await connectClient(t.mqttUrl, `stranger.${tag}`)
      clients.push(stranger)
      expect(await stranger.request('org.tree')).toMatchObject({ code: 401, data: null })
    }

    const bad = await admin.request('msg.send_private', { to_employee_id: lisiId })
    expect(bad).toMatchObject({ code: 400, data: null })
    expect(bad.message).toMatch(/^content: /)

    // A retry of the same seq_id: the same reply and the same msg_id delivered again.
    const seq = `retry-${tag}`
    const one = await admin.request('msg.send_private', { to_employee_id: lisiId, content: 'once' }, seq)
    const two = await admin.request('msg.send_private', { to_employee_id: lisiId, content: 'once' }, seq)
    expect(two.data).toEqual(one.data)
  } finally {
    await Promise.all(clients.map((c) => c.end()))
  }
}
