import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  agentChainLimitNotice,
  agentFailedNotice,
  agentHandoffNotice,
  agentRateLimitedNotice,
  agentTimeoutNotice,
  answerLine,
  groupMessage,
  msgSendGroup,
  type AgentWebhookRequest,
} from '../../schema/index.ts'
import { startAgentServer, type TestAgentServer } from '../../test/support/agent-server.ts'
import { createAgent } from '../../test/support/agents.ts'
import { callAction, createAndBind, createGroup, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

/**
 * AI agents in a group (docs/agents.md), through the real app with signed requests, against
 * agents that are small local HTTP servers.
 */
const s = workerSuite()

const secrets: Record<string, string> = {}
const behave: Record<string, (call: AgentWebhookRequest) => unknown> = {}
let server: TestAgentServer
let human: { employee_id: string; clientId: string }
let group_id = ''
let release: () => void = () => {}
const released = new Promise<void>((r) => (release = r))

async function agent(
  id: string,
  name: string,
  profile: Record<string, unknown> = {},
  respond?: (call: AgentWebhookRequest) => unknown,
) {
  const a = await createAgent(app, s.h, s.admin, id, name, { webhook_endpoint: server.endpoint(id), ...profile })
  secrets[id] = a.secret!
  if (respond) behave[id] = respond
  return a
}

const send = (content: unknown, extra: Record<string, unknown> = {}, seq = nextSeq(), from = human.clientId) =>
  callAction(app, s.h, 'msg.send_group', from, { group_id, content, ...extra }, seq)

const textOf = (call: AgentWebhookRequest) => (typeof call.message.content === 'string' ? call.message.content : '')

beforeAll(async () => {
  s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS = '127.0.0.1'
  s.h.env.AGENT_BLOCKED_WORDS = '内部价'
  server = await startAgentServer(
    (call, id) => (behave[id] ?? ((c: AgentWebhookRequest) => ({ content: `${id} 收到：${textOf(c)}` })))(call),
    (id) => secrets[id],
  )
  human = await createAndBind(app, s.h, s.admin, { name: '李四', employee_id: 'emp_lisi' })
  await createAndBind(app, s.h, s.admin, { name: '客服王', employee_id: 'emp_service' })
  await agent('ai_sales', '销售小助', { trigger_keywords: ['查订单'] })
  await agent('ai_helper', '小助手')
  // Same keyword, not a member: never triggered from this group.
  await agent('ai_outsider', '局外人', { trigger_keywords: ['查订单'] })
  group_id = await createGroup(app, s.h, human.clientId, 'Agents', ['ai_sales', 'ai_helper'])
})

afterAll(async () => {
  release()
  await server?.close()
})

describe('msg.send_group with AI agents', () => {
  it('a keyword reaches the member agent: signed call with the message and context, its answer in the group after the human’s', async () => {
    const context_messages = [
      { from_employee_id: 'emp_lisi', content: '昨天下的单是 SO-1001', sent_at: '2025-02-03T10:00:00.000Z' },
    ]
    const a = await send('帮我查订单 SO-1001', { context_messages })
    expect(a.reply.code, JSON.stringify(a.reply)).toBe(0)
    const data = msgSendGroup.reply.parse(a.reply.data)
    expect(a.deliveries.map((d) => [d.topic, d.payload.from_employee_id])).toEqual([
      [`mchat/group/${group_id}`, 'emp_lisi'],
      [`mchat/group/${group_id}`, 'ai_sales'],
    ])
    const answer = groupMessage.parse(a.deliveries[1]!.payload)
    expect(answer).toEqual({
      msg_id: expect.stringMatching(/^msg_/),
      group_id,
      from_employee_id: 'ai_sales',
      content: 'ai_sales 收到：帮我查订单 SO-1001',
      sent_at: expect.any(String),
    })
    expect(answer.msg_id).not.toBe(data.msg_id)
    expect(data.agents).toEqual([
      { agent_id: 'ai_sales', trigger: 'keyword', hop: 1, status: 'answered', msg_id: answer.msg_id },
    ])

    const [call] = server.callsFor('ai_sales')
    expect(call!.verified).toBe(true)
    expect(call!.headers['x-mchat-delivery-id']).toBe(`${data.msg_id}.1.ai_sales`)
    expect(call!.body).toEqual({
      event: 'message',
      agent_id: 'ai_sales',
      trigger: { type: 'keyword', keyword: '查订单' },
      hop: 1,
      max_hops: 3,
      message: {
        msg_id: data.msg_id,
        conversation_type: 'group',
        group_id,
        from_employee_id: 'emp_lisi',
        content: '帮我查订单 SO-1001',
        sent_at: data.sent_at,
      },
      context_messages,
    })
    expect(server.callsFor('ai_outsider')).toEqual([])
  })

  it('a message that triggers nobody calls nobody and reports no agents', async () => {
    const before = server.calls.length
    const a = await send('大家记得更新进度到文档。')
    expect(a.reply.data).not.toHaveProperty('agents')
    expect(a.deliveries).toHaveLength(1)
    expect(server.calls.length).toBe(before)
  })

  it('@id and @name mention several agents at once; an agent’s own message never triggers it, and its keywords trigger nobody', async () => {
    const a = await send('@ai_sales 和 @小助手 帮我看看')
    expect(
      a.deliveries
        .slice(1)
        .map((d) => d.payload.from_employee_id)
        .sort(),
    ).toEqual(['ai_helper', 'ai_sales'])
    // In employee_id order, whatever the order in the text.
    expect(a.reply.data.agents.map((o: { agent_id: string; trigger: string }) => [o.agent_id, o.trigger])).toEqual([
      ['ai_helper', 'mention'],
      ['ai_sales', 'mention'],
    ])

    const bot = { employee_id: 'ai_sales', clientId: 'ai_sales.bot' }
    const calls = server.calls.length
    const own = await send('查订单 @ai_sales', {}, nextSeq(), bot.clientId)
    expect([own.reply.code, own.reply.data.agents, own.deliveries.length]).toEqual([0, undefined, 1])
    expect(server.calls.length).toBe(calls)
    const asked = await send('@小助手 你怎么看', {}, nextSeq(), bot.clientId)
    expect(asked.reply.data.agents).toMatchObject([{ agent_id: 'ai_helper', trigger: 'mention', status: 'answered' }])
    expect(server.callsFor('ai_helper').at(-1)!.body.message.from_employee_id).toBe('ai_sales')
  })

  it('streams: the human’s message leaves before the agent has answered', async () => {
    let called!: () => void
    const reached = new Promise<void>((r) => (called = r))
    let answer!: () => void
    const gate = new Promise<void>((r) => (answer = r))
    await agent('ai_gated', '闸门', {}, async () => {
      called()
      await gate
      return { content: '久等了' }
    })
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_gated')`, [group_id])
    const res = await app.request(
      await s.h.request('msg.send_group', human.clientId, nextSeq(), { group_id, content: '@ai_gated 在吗' }),
      undefined,
      s.h.env,
    )
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    // The agent was not yet allowed to answer: what arrived is the human's message alone.
    expect(
      first
        .trim()
        .split('\n')
        .map((l) => answerLine.parse(JSON.parse(l))),
    ).toMatchObject([{ kind: 'delivery', payload: { from_employee_id: 'emp_lisi', content: '@ai_gated 在吗' } }])
    await reached
    answer()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
    const lines = rest
      .trim()
      .split('\n')
      .map((l) => answerLine.parse(JSON.parse(l)))
    expect(lines.map((l) => (l.kind === 'delivery' ? (l.payload as { content: string }).content : l.code))).toEqual([
      '久等了',
      0,
    ])
  })

  it('a slow agent: 504 “Agent 响应超时” with the delivered msg_id, a notice in the group; a replay calls nobody', async () => {
    await agent('ai_slow', '慢助手', { response_timeout: 1 }, async () => {
      await released
      return { content: 'too late' }
    })
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_slow')`, [group_id])
    const seq = nextSeq()
    const a = await send('@ai_slow 在吗', {}, seq)
    expect([a.reply.code, a.reply.message]).toEqual([504, 'Agent 响应超时'])
    const data = msgSendGroup.reply.parse(a.reply.data)
    expect(a.deliveries[0]!.payload).toMatchObject({ msg_id: data.msg_id, from_employee_id: 'emp_lisi' })
    expect(data.agents).toEqual([{ agent_id: 'ai_slow', trigger: 'mention', hop: 1, status: 'timeout' }])
    expect(a.deliveries).toHaveLength(2)
    expect(a.deliveries[1]!.topic).toBe(`mchat/group/${group_id}`)
    expect(agentTimeoutNotice.parse(a.deliveries[1]!.payload)).toMatchObject({
      title: 'Agent 暂时无响应，可转人工',
      body: { agent_id: 'ai_slow', msg_id: data.msg_id, conversation_type: 'group', group_id },
    })

    const again = await send('@ai_slow 在吗', {}, seq)
    expect(again.reply).toEqual(a.reply)
    expect(again.deliveries).toEqual(a.deliveries)
    expect(server.callsFor('ai_slow')).toHaveLength(1)
  })

  it('masks sensitive words in an answer before it is delivered', async () => {
    await agent('ai_leaky', '漏嘴', {}, () => ({ content: '这单按内部价算，内部价 8 折' }))
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_leaky')`, [group_id])
    const a = await send('@ai_leaky 价格多少')
    expect(a.deliveries[1]!.payload.content).toBe('这单按***算，*** 8 折')
    expect(a.reply.data.agents).toMatchObject([{ agent_id: 'ai_leaky', status: 'answered', masked: 2 }])
  })

  it('an agent over its limit is not called, and the group is told', async () => {
    s.h.env.RATE_LIMIT_AGENT = '2/1m'
    try {
      await agent('ai_busy', '忙碌')
      await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_busy')`, [group_id])
      const statuses: string[] = []
      let last
      for (let i = 0; i < 3; i++) {
        last = await send(`@ai_busy 第 ${i + 1} 次`)
        statuses.push(last.reply.data.agents[0].status)
      }
      expect(statuses).toEqual(['answered', 'answered', 'rate_limited'])
      expect(server.callsFor('ai_busy')).toHaveLength(2)
      expect(last!.reply.code).toBe(0)
      expect(agentRateLimitedNotice.parse(last!.deliveries[1]!.payload)).toMatchObject({
        title: 'Agent 调用过于频繁，请稍后再试',
        body: { agent_id: 'ai_busy' },
      })
    } finally {
      delete s.h.env.RATE_LIMIT_AGENT
    }
  })

  it('an error, a malformed answer or a redirect becomes a notice; silence is no answer; the other agents still answer', async () => {
    await agent('ai_err', '出错', {}, () => new Response('boom', { status: 500 }))
    await agent('ai_bad', '乱答', {}, () => ({ text: 'not the contract' }))
    await agent(
      'ai_moved',
      '跳转',
      {},
      () => new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } }),
    )
    await agent('ai_quiet', '沉默', {}, () => null)
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) SELECT $1, unnest($2::text[])`, [
      group_id,
      ['ai_err', 'ai_bad', 'ai_moved', 'ai_quiet'],
    ])
    const a = await send('@ai_err @ai_bad @ai_moved @ai_quiet @ai_helper 都来')
    expect(a.reply.code).toBe(0)
    const byAgent = Object.fromEntries(
      a.reply.data.agents.map((o: { agent_id: string; status: string; detail?: string }) => [
        o.agent_id,
        [o.status, o.detail],
      ]),
    )
    expect(byAgent).toEqual({
      ai_err: ['failed', 'HTTP 500'],
      ai_bad: ['failed', expect.stringMatching(/^malformed answer: /)],
      ai_moved: ['failed', 'redirect (HTTP 302) not followed'],
      ai_quiet: ['silent', undefined],
      ai_helper: ['answered', undefined],
    })
    const failures = a.deliveries
      .filter((d) => d.payload.type === 'agent_failed')
      .map((d) => agentFailedNotice.parse(d.payload).body.agent_id)
      .sort()
    expect(failures).toEqual(['ai_bad', 'ai_err', 'ai_moved'])
    expect(a.deliveries.filter((d) => d.payload.from_employee_id === 'ai_helper')).toHaveLength(1)
  })

  it('handoff_to: the human’s inbox gets the conversation and the message; a handoff to a non-human is refused with a notice', async () => {
    await agent('ai_handoff', '转接', {}, (c) =>
      textOf(c).includes('机器人')
        ? { content: '转给另一个机器人', handoff_to: 'ai_helper' }
        : { content: '已为您转人工', handoff_to: 'emp_service' },
    )
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_handoff')`, [group_id])
    const seq = nextSeq()
    const a = await send('@ai_handoff 我要转人工', {}, seq)
    const data = msgSendGroup.reply.parse(a.reply.data)
    expect(data.agents).toMatchObject([{ agent_id: 'ai_handoff', status: 'answered', handoff_to: 'emp_service' }])
    const handoff = a.deliveries.find((d) => d.topic === 'mchat/inbox/emp_service')!
    expect(agentHandoffNotice.parse(handoff.payload)).toMatchObject({
      type: 'agent_handoff',
      title: '转人工',
      body: {
        agent_id: 'ai_handoff',
        conversation_type: 'group',
        group_id,
        from_employee_id: 'emp_lisi',
        msg_id: data.msg_id,
        content: '@ai_handoff 我要转人工',
        sent_at: data.sent_at,
      },
    })
    // A repeat re-sends the same handoff (same notify_id), rebuilt from the request: nothing stored holds the content.
    const again = await send('@ai_handoff 我要转人工', {}, seq)
    expect(again.deliveries.find((d) => d.topic === 'mchat/inbox/emp_service')).toEqual(handoff)
    const stored = await s.h.db.query(
      "SELECT reply::text || coalesce(facts::text, '') AS t FROM request_reply WHERE client_id = $1 AND seq_id = $2",
      [human.clientId, seq],
    )
    expect(stored.rows[0].t).not.toContain('我要转人工')

    const bad = await send('@ai_handoff 转给机器人')
    expect(bad.reply.data.agents[0]).toMatchObject({
      status: 'answered',
      detail: 'handoff_to ai_helper: not an active human employee',
    })
    expect(bad.deliveries.some((d) => d.topic === 'mchat/inbox/ai_helper')).toBe(false)
    expect(bad.deliveries.map((d) => d.payload.type ?? 'message')).toEqual(['message', 'message', 'agent_failed'])
  })

  it('next_agent relays with the previous answer as context, at most 3 agents in a chain', async () => {
    for (const [id, next] of [
      ['ai_c1', 'ai_c2'],
      ['ai_c2', 'ai_c3'],
      ['ai_c3', 'ai_c4'],
      ['ai_c4', undefined],
    ] as const) {
      await agent(id, id, {}, () => ({ content: `${id} 的结论`, ...(next ? { next_agent: next } : {}) }))
    }
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_c1')`, [group_id])
    const a = await send('@ai_c1 开始接力')
    expect(a.reply.code).toBe(0)
    const agents = msgSendGroup.reply.parse(a.reply.data).agents!
    expect(agents.map((o) => [o.agent_id, o.trigger, o.hop, o.status])).toEqual([
      ['ai_c1', 'mention', 1, 'answered'],
      ['ai_c2', 'next_agent', 2, 'answered'],
      ['ai_c3', 'next_agent', 3, 'answered'],
      ['ai_c4', 'next_agent', 4, 'refused'],
    ])
    expect(agents[3]!.detail).toBe('at most 3 agents in a chain')
    expect(server.callsFor('ai_c4')).toEqual([])
    const c2 = server.callsFor('ai_c2')[0]!.body
    expect([c2.hop, c2.trigger]).toEqual([2, { type: 'next_agent', from_agent_id: 'ai_c1' }])
    expect(c2.context_messages).toEqual([
      { msg_id: agents[0]!.msg_id, from_employee_id: 'ai_c1', content: 'ai_c1 的结论', sent_at: expect.any(String) },
    ])
    expect(server.callsFor('ai_c3')[0]!.body.context_messages.map((m) => m.from_employee_id)).toEqual([
      'ai_c1',
      'ai_c2',
    ])
    expect(a.deliveries.map((d) => d.payload.from_employee_id ?? d.payload.type)).toEqual([
      'emp_lisi',
      'ai_c1',
      'ai_c2',
      'ai_c3',
      'agent_chain_limit',
    ])
    expect(agentChainLimitNotice.parse(a.deliveries[4]!.payload).body).toMatchObject({
      agent_id: 'ai_c4',
      detail: 'at most 3 agents in a chain',
    })

    await agent('ai_loop', '自循环', {}, () => ({ content: '再来', next_agent: 'ai_loop' }))
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_loop')`, [group_id])
    const loop = await send('@ai_loop 开始')
    expect(loop.reply.data.agents.map((o: { status: string }) => o.status)).toEqual(['answered', 'refused'])
    expect(server.callsFor('ai_loop')).toHaveLength(1)
  })

  it('a webhook the allow-list no longer admits is not called', async () => {
    await agent('ai_local', '本地')
    await s.h.db.query(`INSERT INTO group_member (group_id, employee_id) VALUES ($1, 'ai_local')`, [group_id])
    delete s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS
    try {
      const a = await send('@ai_local 在吗')
      expect(a.reply.data.agents).toMatchObject([
        { agent_id: 'ai_local', status: 'failed', detail: expect.stringMatching(/^webhook_endpoint must be https/) },
      ])
      expect(server.callsFor('ai_local')).toEqual([])
      expect(a.deliveries[1]!.payload.type).toBe('agent_failed')
    } finally {
      s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS = '127.0.0.1'
    }
  })

  it('refuses oversized context_messages, naming the field', async () => {
    const many = Array.from({ length: 21 }, () => ({ content: 'x' }))
    expect((await send('hi', { context_messages: many })).reply.message).toMatch(/^context_messages: /)
    const big = Array.from({ length: 3 }, () => ({ content: 'x'.repeat(15_000) }))
    expect((await send('hi', { context_messages: big })).reply).toMatchObject({
      code: 400,
      message: expect.stringMatching(/^context_messages: larger than/),
    })
  })
})
