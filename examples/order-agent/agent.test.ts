import { describe, expect, it } from 'vitest'
import { AGENT_HEADERS, signAgentCall, type AgentWebhookRequest } from '../../schema/index.ts'
import { createOrderAgent } from './agent.ts'

const secret = 'whsec_test_secret'
const agent = createOrderAgent({ secret, handoffTo: 'emp_service' })

const call = (content: string, context: Array<{ content: string }> = []): AgentWebhookRequest => ({
  event: 'message',
  agent_id: 'ai_sales_001',
  trigger: { type: 'keyword', keyword: '查订单' },
  hop: 1,
  max_hops: 3,
  message: {
    msg_id: 'msg_1',
    conversation_type: 'group',
    group_id: 'grp_1',
    from_employee_id: 'emp_lisi',
    content,
    sent_at: '2025-02-03T10:00:00.000Z',
  },
  context_messages: context,
})

async function post(body: string, opts: { key?: string; timestamp?: number; agentId?: string } = {}) {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000)
  return agent(
    new Request('http://agent.test/mchat', {
      method: 'POST',
      body,
      headers: {
        [AGENT_HEADERS.timestamp]: String(timestamp),
        [AGENT_HEADERS.signature]: await signAgentCall(opts.key ?? secret, timestamp, body),
        [AGENT_HEADERS.agent]: opts.agentId ?? 'ai_sales_001',
      },
    }),
  )
}

describe('the example order agent', () => {
  it('answers an order query from its fixture', async () => {
    const res = await post(JSON.stringify(call('查订单 SO-1001')))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      content: '订单 SO-1001（华东贸易有限公司）：已发货，金额 ¥12,800，顺丰 SF1234567890，预计 2025-02-05 送达。',
    })
    expect(await (await post(JSON.stringify(call('查订单 so1002')))).json()).toMatchObject({
      content: expect.stringMatching(/^订单 SO-1002（北方机电）：待付款/),
    })
    expect(await (await post(JSON.stringify(call('查订单 SO-9999')))).json()).toEqual({
      content: '没有找到订单 SO-9999，请核对订单号。',
    })
  })

  it('takes the order number from the context when the message has none; asks for it otherwise; hands over on 转人工', async () => {
    expect(
      await (await post(JSON.stringify(call('这单到哪了？', [{ content: '我的订单是 SO-1003' }])))).json(),
    ).toMatchObject({ content: expect.stringMatching(/^订单 SO-1003/) })
    expect(await (await post(JSON.stringify(call('帮我查订单')))).json()).toEqual({
      content: '请告诉我订单号，例如 SO-1001。',
    })
    expect(await (await post(JSON.stringify(call('我要转人工')))).json()).toEqual({
      content: '好的，已为您转接人工客服，请稍候。',
      handoff_to: 'emp_service',
    })
    expect((await post(JSON.stringify(call('今天天气不错')))).status).toBe(204)
  })

  it('refuses anything not signed with its secret, stale, tampered, or for another agent', async () => {
    const body = JSON.stringify(call('查订单 SO-1001'))
    expect((await post(body, { key: 'whsec_other' })).status).toBe(401)
    expect((await post(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 })).status).toBe(401)
    expect((await post(body, { agentId: 'ai_other' })).status).toBe(401)
    const ts = Math.floor(Date.now() / 1000)
    const tampered = await agent(
      new Request('http://agent.test/mchat', {
        method: 'POST',
        body: body.replace('SO-1001', 'SO-1003'),
        headers: {
          [AGENT_HEADERS.timestamp]: String(ts),
          [AGENT_HEADERS.signature]: await signAgentCall(secret, ts, body),
          [AGENT_HEADERS.agent]: 'ai_sales_001',
        },
      }),
    )
    expect(tampered.status).toBe(401)
    expect((await agent(new Request('http://agent.test/mchat'))).status).toBe(405)
    expect((await post('{"not":"a call"}')).status).toBe(400)
  })
})
