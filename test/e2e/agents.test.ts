import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  agentChainLimitNotice,
  agentHandoffNotice,
  agentRateLimitedNotice,
  agentTimeoutNotice,
  groupMessage,
  groupTopic,
  inboxTopic,
  msgSendGroup,
  msgSendPrivate,
  privateMessage,
  type AgentWebhookRequest,
  type MqttConnection,
} from '../../schema/index.ts'
import { serveOrderAgent, type RunningAgent } from '../../examples/order-agent/server.ts'
import { startAgentServer, type TestAgentServer } from '../support/agent-server.ts'
import { connectClient, type Received, type TestClient } from '../support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * AI agents as colleagues, end to end (docs/agents.md): MQTT clients → broker → relay → workers
 * → Postgres, with the example order agent (examples/order-agent) and small local agents for the
 * slow and relaying cases. Real Mosquitto, PostgreSQL and Redis when the machine has them.
 */
let sys: TestSystem
let orderAgent: RunningAgent
let testAgents: TestAgentServer
const clients: TestClient[] = []
const creds: Record<string, MqttConnection> = {}
const secrets: Record<string, string> = {}
const orderCalls: AgentWebhookRequest[] = []
let admin: TestClient
let zs: TestClient
let lisi: TestClient
let service: TestClient
let group_id = ''
/** What the slow agent saw when it was called. */
let humanSeenWhileCalled: boolean | null = null
let release: () => void = () => {}
const released = new Promise<void>((r) => (release = r))

async function connectAs(employeeId: string, device: string, topics: string[] = []): Promise<TestClient> {
  const conn = creds[employeeId]!
  const c = await connectClient(sys.mqttUrl, `${employeeId}.${device}`, {
    username: conn.mqtt_username,
    password: conn.mqtt_password,
  })
  clients.push(c)
  for (const t of topics) await c.subscribe(t)
  expect((await c.request('auth.bind', { mqtt_password: conn.mqtt_password })).code).toBe(0)
  return c
}

async function employee(fields: Record<string, unknown>) {
  const r = await admin.request('employee.create', fields)
  expect(r.code, JSON.stringify(r)).toBe(0)
  creds[fields.employee_id as string] = r.data.mqtt_connection
  if (r.data.webhook_secret) secrets[fields.employee_id as string] = r.data.webhook_secret
  return r
}

const agentFields = (
  employee_id: string,
  name: string,
  webhook_endpoint: string,
  profile: Record<string, unknown> = {},
) => ({
  employee_id,
  name,
  is_ai_agent: true,
  department_id: null,
  skills_badge: ['⚡实时响应'],
  agent_profile: { model_type: 'LLM-v3', capabilities: ['订单查询'], webhook_endpoint, ...profile },
})

const indexOf = (c: TestClient, pred: (r: Received) => boolean) => c.received.findIndex(pred)

beforeAll(async () => {
  sys = await startTestSystem({
    bindings: {
      AGENT_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      AGENT_BLOCKED_WORDS: '内部价',
      RATE_LIMIT_AGENT: '4/1m',
      // The machine's Redis outlives this run: its counters must not meet the next run's.
      RATE_LIMIT_PREFIX: `mchat-agents-${Date.now().toString(36)}`,
    },
  })
  creds.admin = sys.admin.mqtt_connection
  admin = await connectAs('admin', 'agents')
  orderAgent = await serveOrderAgent({
    secret: (id) => secrets[id],
    handoffTo: 'emp_service',
    onCall: (c) => orderCalls.push(c),
  })
  testAgents = await startAgentServer(
    async (call, id) => {
      if (id === 'ai_slow') {
        // Called after the human's message went out, not at the end: it is already on lisi's side.
        humanSeenWhileCalled = await lisi
          .waitFor(groupTopic(group_id), (p) => p.msg_id === call.message.msg_id, 5_000)
          .then(
            () => true,
            () => false,
          )
        await released
        return { content: '太晚了' }
      }
      const n = Number(id.slice(-1))
      return { content: `第 ${n} 棒：已处理`, ...(n < 4 ? { next_agent: `ai_c${n + 1}` } : {}) }
    },
    (id) => secrets[id],
  )

  for (const p of [
    { employee_id: 'emp_zhangsan_001', name: '张三' },
    { employee_id: 'emp_lisi_002', name: '李四' },
    { employee_id: 'emp_service', name: '客服王' },
  ])
    await employee(p)
  await employee(agentFields('ai_sales_001', '销售小助', orderAgent.url, { trigger_keywords: ['查订单'] }))
  await employee(agentFields('ai_order_desk', '订单台', orderAgent.url))
  await employee(agentFields('ai_limited', '限流助手', orderAgent.url))
  await employee(agentFields('ai_slow', '慢助手', testAgents.endpoint('ai_slow'), { response_timeout: 1 }))
  for (const n of [1, 2, 3, 4]) await employee(agentFields(`ai_c${n}`, `接力${n}`, testAgents.endpoint(`ai_c${n}`)))

  zs = await connectAs('emp_zhangsan_001', 'phone', [inboxTopic('emp_zhangsan_001')])
  lisi = await connectAs('emp_lisi_002', 'phone', [inboxTopic('emp_lisi_002')])
  service = await connectAs('emp_service', 'desk', [inboxTopic('emp_service')])
  const g = await zs.request('group.create', {
    name: 'XX项目组',
    member_ids: ['emp_lisi_002', 'ai_sales_001', 'ai_slow', 'ai_limited', 'ai_c1'],
  })
  expect(g.code).toBe(0)
  group_id = g.data.group_id
  await zs.subscribe(groupTopic(group_id))
  await lisi.subscribe(groupTopic(group_id))
}, 120_000)

afterAll(async () => {
  release()
  await Promise.all(clients.map((c) => c.end()))
  await orderAgent?.close()
  await testAgents?.close()
  await sys?.close()
})

describe('AI agents over MQTT', () => {
  it('a trigger keyword in a group: the order agent answers in the group, after the human’s message', async () => {
    const r = await zs.request('msg.send_group', { group_id, content: '帮我查订单 SO-1001' })
    expect(r.code, JSON.stringify(r)).toBe(0)
    const d = msgSendGroup.reply.parse(r.data)
    expect(d.agents).toMatchObject([{ agent_id: 'ai_sales_001', trigger: 'keyword', hop: 1, status: 'answered' }])
    const answer = await lisi.waitFor(groupTopic(group_id), (p) => p.msg_id === d.agents![0]!.msg_id)
    expect(groupMessage.parse(answer.payload)).toEqual({
      msg_id: d.agents![0]!.msg_id,
      group_id,
      from_employee_id: 'ai_sales_001',
      content: '订单 SO-1001（华东贸易有限公司）：已发货，金额 ¥12,800，顺丰 SF1234567890，预计 2025-02-05 送达。',
      sent_at: expect.any(String),
    })
    const human = indexOf(lisi, (m) => m.payload.msg_id === d.msg_id)
    expect(human).toBeGreaterThanOrEqual(0)
    expect(human).toBeLessThan(indexOf(lisi, (m) => m.payload.msg_id === answer.payload.msg_id))
    expect(orderCalls.at(-1)).toMatchObject({
      agent_id: 'ai_sales_001',
      trigger: { type: 'keyword', keyword: '查订单' },
      message: { msg_id: d.msg_id, conversation_type: 'group', group_id },
    })
  })

  it('an @name mention in a group, with the sender’s context_messages', async () => {
    const r = await zs.request('msg.send_group', {
      group_id,
      content: '@销售小助 这单到哪了？',
      context_messages: [{ from_employee_id: 'emp_lisi_002', content: '我的订单号是 SO-1002' }],
    })
    expect(r.data.agents).toMatchObject([{ agent_id: 'ai_sales_001', trigger: 'mention', status: 'answered' }])
    const answer = await lisi.waitFor(groupTopic(group_id), (p) => p.msg_id === r.data.agents[0].msg_id)
    expect(answer.payload.content).toMatch(/^订单 SO-1002（北方机电）：待付款/)
  })

  it('a private chat with an agent: it answers into the sender’s inbox', async () => {
    const r = await zs.request('msg.send_private', { to_employee_id: 'ai_order_desk', content: '查订单 SO-1001' })
    const d = msgSendPrivate.reply.parse(r.data)
    expect(d.agents).toMatchObject([{ agent_id: 'ai_order_desk', trigger: 'private', status: 'answered' }])
    const answer = await zs.waitFor(inboxTopic('emp_zhangsan_001'), (p) => p.msg_id === d.agents![0]!.msg_id)
    expect(privateMessage.parse(answer.payload)).toMatchObject({
      type: 'private',
      from_employee_id: 'ai_order_desk',
      to_employee_id: 'emp_zhangsan_001',
      content: expect.stringMatching(/^订单 SO-1001/),
    })
  })

  it('a slow agent: the human’s message is delivered first; the sender gets 504 “Agent 响应超时” with its msg_id; the group is told', async () => {
    const r = await zs.request('msg.send_group', { group_id, content: '@ai_slow 帮我总结一下' })
    expect([r.code, r.message]).toEqual([504, 'Agent 响应超时'])
    expect(r.data).toMatchObject({
      msg_id: expect.stringMatching(/^msg_/),
      group_id,
      agents: [{ agent_id: 'ai_slow', status: 'timeout' }],
    })
    expect(humanSeenWhileCalled).toBe(true)
    const notice = await lisi.waitFor(
      groupTopic(group_id),
      (p) => p.type === 'agent_timeout' && p.body.msg_id === r.data.msg_id,
    )
    expect(agentTimeoutNotice.parse(notice.payload)).toMatchObject({
      title: 'Agent 暂时无响应，可转人工',
      body: { agent_id: 'ai_slow', conversation_type: 'group', group_id },
    })
    // On the sender's own connection too, the message came before the reply.
    const human = indexOf(zs, (m) => m.payload.msg_id === r.data.msg_id && m.topic === groupTopic(group_id))
    expect(human).toBeGreaterThanOrEqual(0)
    expect(human).toBeLessThan(
      indexOf(zs, (m) => m.topic.startsWith('mchat/msg/resp/') && m.payload.data?.msg_id === r.data.msg_id),
    )
  })

  it('a sensitive word in an answer is masked before delivery', async () => {
    const r = await zs.request('msg.send_private', { to_employee_id: 'ai_order_desk', content: '查订单 SO-1003' })
    expect(r.data.agents).toMatchObject([{ status: 'answered', masked: 1 }])
    const answer = await zs.waitFor(inboxTopic('emp_zhangsan_001'), (p) => p.msg_id === r.data.agents[0].msg_id)
    expect(answer.payload.content).toContain('客户享受***，勿外传')
    expect(answer.payload.content).not.toContain('内部价')
  })

  it('an agent over its limit is not called, and the group is told', async () => {
    const statuses: string[] = []
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await zs.request('msg.send_group', { group_id, content: `@ai_limited 查 SO-1001（${i}）` })).data.agents[0]
          .status,
      )
    expect(statuses).toEqual(['answered', 'answered', 'answered', 'answered', 'rate_limited'])
    expect(orderCalls.filter((c) => c.agent_id === 'ai_limited')).toHaveLength(4)
    const notice = await lisi.waitFor(groupTopic(group_id), (p) => p.type === 'agent_rate_limited')
    expect(agentRateLimitedNotice.parse(notice.payload)).toMatchObject({
      title: 'Agent 调用过于频繁，请稍后再试',
      body: { agent_id: 'ai_limited', group_id },
    })
  })

  it('a handoff: the human colleague’s inbox gets the conversation and the message', async () => {
    const r = await zs.request('msg.send_private', { to_employee_id: 'ai_order_desk', content: '这个问题我要转人工' })
    expect(r.data.agents).toMatchObject([{ agent_id: 'ai_order_desk', status: 'answered', handoff_to: 'emp_service' }])
    const n = await service.waitFor(inboxTopic('emp_service'), (p) => p.type === 'agent_handoff')
    expect(agentHandoffNotice.parse(n.payload).body).toEqual({
      agent_id: 'ai_order_desk',
      conversation_type: 'private',
      from_employee_id: 'emp_zhangsan_001',
      msg_id: r.data.msg_id,
      content: '这个问题我要转人工',
      sent_at: r.data.sent_at,
    })
    await zs.waitFor(
      inboxTopic('emp_zhangsan_001'),
      (p) => p.msg_id === r.data.agents[0].msg_id && p.content === '好的，已为您转接人工客服，请稍候。',
    )
  })

  it('a relay between agents stops at 3: the fourth is never called, and the group is told', async () => {
    const r = await zs.request('msg.send_group', { group_id, content: '@ai_c1 按流程处理这单' })
    expect(r.code).toBe(0)
    expect(
      r.data.agents.map((o: { agent_id: string; hop: number; status: string }) => [o.agent_id, o.hop, o.status]),
    ).toEqual([
      ['ai_c1', 1, 'answered'],
      ['ai_c2', 2, 'answered'],
      ['ai_c3', 3, 'answered'],
      ['ai_c4', 4, 'refused'],
    ])
    expect(testAgents.callsFor('ai_c4')).toEqual([])
    expect(testAgents.callsFor('ai_c3')[0]!.body.context_messages.map((m) => m.content)).toEqual([
      '第 1 棒：已处理',
      '第 2 棒：已处理',
    ])
    const limit = await lisi.waitFor(groupTopic(group_id), (p) => p.type === 'agent_chain_limit')
    expect(agentChainLimitNotice.parse(limit.payload).body).toMatchObject({ agent_id: 'ai_c4', msg_id: r.data.msg_id })
    const order = ['ai_c1', 'ai_c2', 'ai_c3'].map((id) =>
      indexOf(lisi, (m) => m.payload.from_employee_id === id && m.payload.msg_id !== undefined),
    )
    expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!))).toBe(true)
  })

  it('employee.create refuses a webhook on a metadata, private or local address (SSRF), and creates nothing', async () => {
    for (const webhook_endpoint of [
      'https://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/hook',
      'https://localhost/hook',
      'https://[::1]/hook',
    ]) {
      const r = await admin.request('employee.create', agentFields('ai_ssrf', 'SSRF', webhook_endpoint))
      expect([r.code, r.message.split(':')[0]], webhook_endpoint).toEqual([400, 'agent_profile.webhook_endpoint'])
    }
    expect(
      (await admin.request('employee.create', agentFields('ai_ssrf', 'SSRF', 'https://agent.example.com/hook'))).code,
    ).toBe(0)
  })

  it('an MQTT-connected agent hears on its inbox and answers with msg.send_private, like any colleague', async () => {
    await employee({
      employee_id: 'ai_mqtt',
      name: 'MQTT 助手',
      is_ai_agent: true,
      agent_profile: { capabilities: ['翻译'], connection: 'mqtt' },
    })
    const bot = await connectAs('ai_mqtt', 'worker', [inboxTopic('ai_mqtt')])
    const asked = await zs.request('msg.send_private', { to_employee_id: 'ai_mqtt', content: '请翻译：good morning' })
    expect([asked.code, asked.data.agents]).toEqual([0, undefined])
    const heard = await bot.waitFor(inboxTopic('ai_mqtt'), (p) => p.msg_id === asked.data.msg_id)
    const said = await bot.request('msg.send_private', {
      to_employee_id: heard.payload.from_employee_id,
      content: '早上好',
    })
    expect(said.code).toBe(0)
    await zs.waitFor(
      inboxTopic('emp_zhangsan_001'),
      (p) => p.msg_id === said.data.msg_id && p.from_employee_id === 'ai_mqtt' && p.content === '早上好',
    )
  })
})
