import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentTimeoutNotice, msgSendPrivate, privateMessage } from '../../schema/index.ts'
import { startAgentServer, type TestAgentServer } from '../../test/support/agent-server.ts'
import { createAgent } from '../../test/support/agents.ts'
import { callAction, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

/** AI agents in private chats (docs/agents.md): a chat with an agent, a mention, an MQTT-connected agent. */
const s = workerSuite()

const secrets: Record<string, string> = {}
let server: TestAgentServer
let zs: { employee_id: string; clientId: string }
let release: () => void = () => {}
const released = new Promise<void>((r) => (release = r))

beforeAll(async () => {
  s.h.env.AGENT_WEBHOOK_ALLOW_HOSTS = '127.0.0.1'
  server = await startAgentServer(
    async (call, id) => {
      if (id === 'ai_slow_p') await released
      return { content: `${id}：已收到「${call.message.content as string}」` }
    },
    (id) => secrets[id],
  )
  zs = await createAndBind(app, s.h, s.admin, { name: '张三', employee_id: 'emp_zs' })
  await createAndBind(app, s.h, s.admin, { name: '李四', employee_id: 'emp_ls' })
  for (const [id, name, profile] of [
    ['ai_sales_001', '销售小助', {}],
    ['ai_slow_p', '慢', { response_timeout: 1 }],
  ] as const) {
    secrets[id] = (
      await createAgent(app, s.h, s.admin, id, name, { webhook_endpoint: server.endpoint(id), ...profile })
    ).secret!
  }
})

afterAll(async () => {
  release()
  await server?.close()
})

describe('msg.send_private with AI agents', () => {
  it('a private message to an agent: delivered to its inbox, and its answer comes back to the sender’s inbox', async () => {
    const a = await callAction(app, s.h, 'msg.send_private', zs.clientId, {
      to_employee_id: 'ai_sales_001',
      content: '查订单 SO-1001',
    })
    expect(a.reply.code).toBe(0)
    const data = msgSendPrivate.reply.parse(a.reply.data)
    // The message, the sender's own copy, then the agent's answer.
    expect(a.deliveries.map((d) => [d.topic, d.payload.from_employee_id])).toEqual([
      ['mchat/inbox/ai_sales_001', 'emp_zs'],
      ['mchat/inbox/emp_zs', 'emp_zs'],
      ['mchat/inbox/emp_zs', 'ai_sales_001'],
    ])
    const answer = privateMessage.parse(a.deliveries[2]!.payload)
    expect(answer).toEqual({
      msg_id: expect.stringMatching(/^msg_/),
      type: 'private',
      from_employee_id: 'ai_sales_001',
      to_employee_id: 'emp_zs',
      content: 'ai_sales_001：已收到「查订单 SO-1001」',
      sent_at: expect.any(String),
    })
    expect(data.agents).toEqual([
      { agent_id: 'ai_sales_001', trigger: 'private', hop: 1, status: 'answered', msg_id: answer.msg_id },
    ])
    const call = server.callsFor('ai_sales_001').at(-1)!
    expect(call.verified).toBe(true)
    expect(call.body.message).toEqual({
      msg_id: data.msg_id,
      conversation_type: 'private',
      from_employee_id: 'emp_zs',
      to_employee_id: 'ai_sales_001',
      content: '查订单 SO-1001',
      sent_at: data.sent_at,
    })
  })

  it('an @mention in a chat between two people: the agent answers the one who asked, the other hears only the message', async () => {
    const a = await callAction(app, s.h, 'msg.send_private', zs.clientId, {
      to_employee_id: 'emp_ls',
      content: '@销售小助 SO-1001 到哪了？',
    })
    expect(a.deliveries.map((d) => [d.topic, d.payload.from_employee_id])).toEqual([
      ['mchat/inbox/emp_ls', 'emp_zs'],
      ['mchat/inbox/emp_zs', 'emp_zs'],
      ['mchat/inbox/emp_zs', 'ai_sales_001'],
    ])
    expect(a.reply.data.agents).toMatchObject([{ agent_id: 'ai_sales_001', trigger: 'mention' }])
    // A keyword alone does not pull an agent into a private chat it was not asked into.
    const plain = await callAction(app, s.h, 'msg.send_private', zs.clientId, {
      to_employee_id: 'emp_ls',
      content: '销售小助 说过查订单',
    })
    expect([plain.deliveries.length, plain.reply.data.agents]).toEqual([2, undefined])
  })

  it('a slow agent in a private chat: 504 with the msg_id, the notice in the sender’s inbox', async () => {
    const a = await callAction(app, s.h, 'msg.send_private', zs.clientId, {
      to_employee_id: 'ai_slow_p',
      content: '在吗',
    })
    expect([a.reply.code, a.reply.message, a.reply.data.msg_id]).toEqual([
      504,
      'Agent 响应超时',
      a.deliveries[0]!.payload.msg_id,
    ])
    expect(a.deliveries[2]!.topic).toBe('mchat/inbox/emp_zs')
    expect(agentTimeoutNotice.parse(a.deliveries[2]!.payload).body).toEqual({
      agent_id: 'ai_slow_p',
      msg_id: a.reply.data.msg_id,
      conversation_type: 'private',
    })
  })

  it('an MQTT-connected agent gets its messages on its inbox and answers with msg.send_private like anyone', async () => {
    const bot = await createAgent(app, s.h, s.admin, 'ai_mqtt', 'MQTT 助手', {
      capabilities: ['翻译'],
      trigger_keywords: ['翻译'],
    })
    expect(bot.secret).toBeUndefined()
    const calls = server.calls.length
    const asked = await callAction(app, s.h, 'msg.send_private', zs.clientId, {
      to_employee_id: 'ai_mqtt',
      content: '请翻译 hello',
    })
    expect([asked.reply.code, asked.reply.data.agents, asked.deliveries.map((d) => d.topic)]).toEqual([
      0,
      undefined,
      ['mchat/inbox/ai_mqtt', 'mchat/inbox/emp_zs'],
    ])
    const answered = await callAction(app, s.h, 'msg.send_private', bot.clientId, {
      to_employee_id: 'emp_zs',
      content: '你好',
    })
    expect(answered.deliveries).toMatchObject([
      { topic: 'mchat/inbox/emp_zs', payload: { from_employee_id: 'ai_mqtt', content: '你好' } },
      { topic: 'mchat/inbox/ai_mqtt', payload: { from_employee_id: 'ai_mqtt', content: '你好' } },
    ])
    expect(server.calls.length).toBe(calls)
  })

  it('a replay returns the stored outcome and calls the agent no second time', async () => {
    const seq = nextSeq()
    const first = await callAction(
      app,
      s.h,
      'msg.send_private',
      zs.clientId,
      { to_employee_id: 'ai_sales_001', content: '再查一次' },
      seq,
    )
    const calls = server.callsFor('ai_sales_001').length
    const again = await callAction(
      app,
      s.h,
      'msg.send_private',
      zs.clientId,
      { to_employee_id: 'ai_sales_001', content: '再查一次' },
      seq,
    )
    expect(again.reply).toEqual(first.reply)
    // The message and the sender's copy again (same msg_id); the agent's answer is content and is
    // not kept to be re-sent.
    expect(again.deliveries).toEqual(first.deliveries.slice(0, 2))
    expect(server.callsFor('ai_sales_001')).toHaveLength(calls)
  })
})
