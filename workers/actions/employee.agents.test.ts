import { describe, expect, it } from 'vitest'
import {
  employeeCreate,
  employeeUpdate,
  memberJoinedNotice,
  profileChange,
  verifyAgentCall,
} from '../../schema/index.ts'
import { startAgentServer } from '../../test/support/agent-server.ts'
import { createAgent } from '../../test/support/agents.ts'
import { callAction, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { webhookSecret } from '../lib/agents-webhook.ts'
import { app } from '../app.ts'

/** employee.create / employee.update for AI agents (docs/agents.md). */
const s = workerSuite()

const create = (fields: Record<string, unknown>, seq?: string) =>
  callAction(app, s.h, 'employee.create', s.admin, fields, seq)
const update = (employee_id: string, updates: Record<string, unknown>, seq?: string) =>
  callAction(app, s.h, 'employee.update', s.admin, { employee_id, updates }, seq)
const profileOf = async (id: string) =>
  (await s.h.db.query('SELECT agent_profile, webhook_secret_version FROM employee WHERE employee_id = $1', [id]))
    .rows[0]

describe('employee.create for AI agents', () => {
  it('takes seed 001’s profile, joins auto_join_groups, and returns the signing secret once: the same on a replay, never stored', async () => {
    await s.h.db.query(`INSERT INTO chat_group (group_id, name) VALUES ('sales_team', '销售团队')`)
    const seq = nextSeq()
    const agent_profile = {
      model_type: 'LLM-v3',
      capabilities: ['订单查询', '产品推荐', '会议安排'],
      trigger_keywords: ['查订单', '推荐产品'],
      webhook_endpoint: 'https://agent.example.com/callback',
      response_timeout: 15,
      auto_join_groups: ['sales_team'],
    }
    const fields = {
      employee_id: 'ai_sales_001',
      name: '销售小助',
      is_ai_agent: true,
      agent_profile,
      skills_badge: ['⚡实时响应', '📊数据解读'],
    }
    const a = await create(fields, seq)
    expect(a.reply.code, JSON.stringify(a.reply)).toBe(0)
    const data = employeeCreate.reply.parse(a.reply.data)
    expect(data.webhook_secret).toBe(await webhookSecret(s.h.env, 'ai_sales_001', 1))
    expect(await profileOf('ai_sales_001')).toEqual({
      agent_profile: { ...agent_profile, connection: 'webhook' },
      webhook_secret_version: 1,
    })

    expect(
      (
        await s.h.db.query(
          `SELECT role FROM group_member WHERE group_id = 'sales_team' AND employee_id = 'ai_sales_001'`,
        )
      ).rows,
    ).toEqual([{ role: 'member' }])
    const joined = a.deliveries.find((d) => d.topic === 'mchat/inbox/ai_sales_001')!
    expect(memberJoinedNotice.parse(joined.payload).body).toEqual({
      group_id: 'sales_team',
      group_name: '销售团队',
      inviter_id: 'admin',
    })

    const again = await create(fields, seq)
    expect(again.reply).toEqual(a.reply)
    expect(again.deliveries).toEqual(a.deliveries)
    const stored = await s.h.db.query(
      'SELECT reply::text AS r FROM request_reply WHERE client_id = $1 AND seq_id = $2',
      [s.admin, seq],
    )
    expect(stored.rows[0].r).not.toContain(data.webhook_secret!)
  })

  it('an agent without a webhook is MQTT-connected and gets no secret; response_timeout defaults to 15 s and stays within 1–60', async () => {
    const mqtt = await create({
      employee_id: 'ai_mqtt_1',
      name: 'M',
      is_ai_agent: true,
      agent_profile: { capabilities: ['翻译'] },
    })
    expect(mqtt.reply.data).not.toHaveProperty('webhook_secret')
    expect((await profileOf('ai_mqtt_1')).agent_profile).toEqual({
      capabilities: ['翻译'],
      trigger_keywords: [],
      response_timeout: 15,
      auto_join_groups: [],
      connection: 'mqtt',
    })
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ webhook_endpoint: 'https://agent.example.com/a', response_timeout: 61 }, 'agent_profile.response_timeout: '],
      [{ webhook_endpoint: 'https://agent.example.com/a', response_timeout: 0 }, 'agent_profile.response_timeout: '],
      [{ webhook_endpoint: 'https://agent.example.com/a', response_timeout: 1.5 }, 'agent_profile.response_timeout: '],
      [{ connection: 'webhook' }, 'agent_profile.webhook_endpoint: required unless the agent is MQTT-connected'],
      [
        { connection: 'mqtt', webhook_endpoint: 'https://agent.example.com/a' },
        'agent_profile.connection: an MQTT-connected agent has no webhook_endpoint',
      ],
      [{ trigger_keywords: [''] }, 'agent_profile.trigger_keywords.0: '],
      [{ webhook_endpoint: 'javascript:alert(1)' }, 'agent_profile.webhook_endpoint: '],
    ]
    for (const [agent_profile, message] of refused) {
      const r = await create({ name: 'Bad', is_ai_agent: true, agent_profile })
      expect(
        [r.reply.code, r.reply.message.startsWith(message)],
        `${JSON.stringify(agent_profile)} → ${r.reply.message}`,
      ).toEqual([400, true])
    }
  })

  it('refuses a webhook on a private, loopback, link-local or local-name address, or over http; the development allow-list admits one', async () => {
    for (const webhook_endpoint of [
      'http://agent.example.com/cb',
      'https://127.0.0.1/cb',
      'https://10.0.0.8/cb',
      'https://169.254.169.254/latest',
      'https://[::1]/cb',
      'https://[fd00::1]/',
      'https://100.64.1.1/',
      'https://localhost:8443/',
      'https://metadata.google.internal/',
    ]) {
      const r = await create({
        employee_id: 'ai_ssrf',
        name: 'SSRF',
        is_ai_agent: true,
        agent_profile: { webhook_endpoint },
      })
      expect([r.reply.code, r.reply.message.split(':')[0]], webhook_endpoint).toEqual([
        400,
        'agent_profile.webhook_endpoint',
      ])
    }
    expect((await s.h.db.query(`SELECT 1 FROM employee WHERE employee_id = 'ai_ssrf'`)).rows).toEqual([])
    s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS = '127.0.0.1'
    try {
      expect(
        (
          await create({
            employee_id: 'ai_local',
            name: 'Local',
            is_ai_agent: true,
            agent_profile: { webhook_endpoint: 'http://127.0.0.1:8790/mchat' },
          })
        ).reply.code,
      ).toBe(0)
    } finally {
      delete s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS
    }
  })

  it('auto_join_groups must name live groups: otherwise nothing is created', async () => {
    await s.h.db.query(`INSERT INTO chat_group (group_id, name, dismissed_at) VALUES ('gone_team', 'Gone', now())`)
    const unknown = await create({
      employee_id: 'ai_join_1',
      name: 'J',
      is_ai_agent: true,
      agent_profile: { auto_join_groups: ['no_such_team'] },
    })
    expect([unknown.reply.code, unknown.reply.message]).toEqual([
      404,
      'agent_profile.auto_join_groups: no such group: no_such_team',
    ])
    const dismissed = await create({
      employee_id: 'ai_join_1',
      name: 'J',
      is_ai_agent: true,
      agent_profile: { auto_join_groups: ['gone_team'] },
    })
    expect([dismissed.reply.code, dismissed.reply.message]).toEqual([
      404,
      'agent_profile.auto_join_groups: the group was dismissed: gone_team',
    ])
    expect((await s.h.db.query(`SELECT 1 FROM employee WHERE employee_id = 'ai_join_1'`)).rows).toEqual([])
  })
})

describe('employee.update for AI agents', () => {
  it('changes profile fields one by one, checks a new webhook, and announces the change', async () => {
    await createAgent(app, s.h, s.admin, 'ai_upd', '更新', {
      webhook_endpoint: 'https://agent.example.com/u',
      trigger_keywords: ['旧词'],
      capabilities: ['A'],
    })
    const a = await update('ai_upd', {
      agent_profile: { trigger_keywords: ['新词'], response_timeout: 30, model_type: 'v2' },
    })
    expect(a.reply.code, JSON.stringify(a.reply)).toBe(0)
    expect(a.reply.data).not.toHaveProperty('webhook_secret')
    expect((await profileOf('ai_upd')).agent_profile).toEqual({
      capabilities: ['A'],
      trigger_keywords: ['新词'],
      webhook_endpoint: 'https://agent.example.com/u',
      response_timeout: 30,
      auto_join_groups: [],
      connection: 'webhook',
      model_type: 'v2',
    })
    expect(profileChange.parse(a.deliveries[0]!.payload)).toMatchObject({
      fields: ['agent_profile'],
      profile: { is_ai_agent: true },
    })
    expect((await update('ai_upd', { agent_profile: { model_type: null } })).reply.code).toBe(0)
    expect((await profileOf('ai_upd')).agent_profile).not.toHaveProperty('model_type')

    const ssrf = await update('ai_upd', { agent_profile: { webhook_endpoint: 'https://192.168.0.10/hook' } })
    expect([ssrf.reply.code, ssrf.reply.message]).toEqual([
      400,
      expect.stringMatching(/^updates\.agent_profile\.webhook_endpoint: refused: 192\.168\.0\.10 is a private address/),
    ])
    const slow = await update('ai_upd', { agent_profile: { response_timeout: 120 } })
    expect([slow.reply.code, slow.reply.message.startsWith('updates.agent_profile.response_timeout: ')]).toEqual([
      400,
      true,
    ])
    expect((await update('ai_upd', { agent_profile: { auto_join_groups: ['x'] } })).reply.code).toBe(400)
  })

  it('rotate_webhook_secret returns the new secret once (the same on a replay); calls are signed with it from then on', async () => {
    s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS = '127.0.0.1'
    const server = await startAgentServer(() => ({ content: 'ok' }))
    try {
      const agent = await createAgent(app, s.h, s.admin, 'ai_rot', '轮换', {
        webhook_endpoint: server.endpoint('ai_rot'),
      })
      const seq = nextSeq()
      const r = await update('ai_rot', { rotate_webhook_secret: true }, seq)
      const data = employeeUpdate.reply.parse(r.reply.data)
      expect(data.webhook_secret_version).toBe(2)
      expect(data.webhook_secret).toBe(await webhookSecret(s.h.env, 'ai_rot', 2))
      expect(data.webhook_secret).not.toBe(agent.secret)
      expect((await update('ai_rot', { rotate_webhook_secret: true }, seq)).reply).toEqual(r.reply)
      const stored = await s.h.db.query(
        'SELECT reply::text AS r FROM request_reply WHERE client_id = $1 AND seq_id = $2',
        [s.admin, seq],
      )
      expect(stored.rows[0].r).not.toContain(data.webhook_secret!)

      const asker = await createAndBind(app, s.h, s.admin, { name: 'Asker', employee_id: 'emp_rot_asker' })
      expect(
        (await callAction(app, s.h, 'msg.send_private', asker.clientId, { to_employee_id: 'ai_rot', content: 'hi' }))
          .reply.data.agents[0].status,
      ).toBe('answered')
      const call = server.calls.at(-1)!
      const headers = { timestamp: call.headers['x-mchat-timestamp']!, signature: call.headers['x-mchat-signature']! }
      expect(await verifyAgentCall(data.webhook_secret!, headers, call.raw)).toBe(true)
      expect(await verifyAgentCall(agent.secret!, headers, call.raw)).toBe(false)
    } finally {
      await server.close()
      delete s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS
    }
  })

  it('an MQTT agent that gets a webhook gets its first secret; without one it is MQTT-connected again; is_ai_agent false clears the profile', async () => {
    await createAgent(app, s.h, s.admin, 'ai_switch', '切换', { capabilities: ['x'] })
    const hooked = await update('ai_switch', { agent_profile: { webhook_endpoint: 'https://agent.example.com/s' } })
    expect(employeeUpdate.reply.parse(hooked.reply.data)).toMatchObject({
      webhook_secret: await webhookSecret(s.h.env, 'ai_switch', 2),
      webhook_secret_version: 2,
    })
    expect((await profileOf('ai_switch')).agent_profile.connection).toBe('webhook')
    const rotateNothing = await update('ai_mqtt_1', { rotate_webhook_secret: true })
    expect([rotateNothing.reply.code, rotateNothing.reply.message]).toEqual([
      400,
      'updates.rotate_webhook_secret: ai_mqtt_1 has no webhook_endpoint',
    ])
    expect((await update('ai_switch', { agent_profile: { webhook_endpoint: null } })).reply.code).toBe(0)
    expect((await profileOf('ai_switch')).agent_profile).toMatchObject({ connection: 'mqtt', capabilities: ['x'] })
    const human = await update('ai_switch', { is_ai_agent: false })
    expect(profileChange.parse(human.deliveries[0]!.payload)).toMatchObject({
      fields: ['is_ai_agent'],
      profile: { is_ai_agent: false },
    })
    expect(await profileOf('ai_switch')).toMatchObject({ agent_profile: null })
    expect((await update('ai_switch', { agent_profile: { capabilities: ['y'] } })).reply).toMatchObject({
      code: 400,
      message: 'updates.agent_profile: only AI agents have one (is_ai_agent: true)',
    })
    const back = await update('ai_switch', {
      is_ai_agent: true,
      agent_profile: { webhook_endpoint: 'https://agent.example.com/s2' },
    })
    expect(back.reply.data.webhook_secret_version).toBe(3)
  })

  it('only org admins change an agent: not even the agent itself', async () => {
    const self = await createAgent(app, s.h, s.admin, 'ai_self', '自己', { capabilities: ['x'] })
    for (const updates of [
      { agent_profile: { capabilities: ['y'] } },
      { is_ai_agent: false },
      { rotate_webhook_secret: true },
    ]) {
      const r = await callAction(app, s.h, 'employee.update', self.clientId, { employee_id: 'ai_self', updates })
      expect([r.reply.code, r.reply.message.startsWith('only org admins can change')], JSON.stringify(updates)).toEqual(
        [403, true],
      )
    }
  })
})
