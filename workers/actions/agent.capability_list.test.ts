import { beforeAll, describe, expect, it } from 'vitest'
import { agentCapabilityList } from '../../schema/index.ts'
import { callAction, createAndBind } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

/** An employee made through employee.create; `rawProfile` is written directly (what the contract would refuse). */
async function employee(fields: Record<string, unknown>, rawProfile?: unknown) {
  const a = await callAction(app, s.h, 'employee.create', s.admin, fields)
  expect(a.reply.code, JSON.stringify(a.reply)).toBe(0)
  if (rawProfile !== undefined) {
    await s.h.db.query('UPDATE employee SET agent_profile = $2::jsonb WHERE employee_id = $1', [
      fields.employee_id,
      JSON.stringify(rawProfile),
    ])
  }
}

const seedAgent = {
  employee_id: 'ai_sales_001',
  name: '销售小助',
  capabilities: ['订单查询', '产品推荐'],
  skills_badge: ['⚡实时响应'],
}

describe('agent.capability_list', () => {
  let member: string
  beforeAll(async () => {
    const agent = (employee_id: string, name: string, skills_badge: string[], capabilities?: string[]) =>
      employee({
        employee_id,
        name,
        is_ai_agent: true,
        skills_badge,
        ...(capabilities ? { agent_profile: { model_type: 'llm', capabilities } } : {}),
      })
    await agent('ai_sales_001', '销售小助', ['⚡实时响应'], ['订单查询', '产品推荐'])
    await agent('ai_support_002', '客服助手', ['订单查询专家'], ['售后', '退款'])
    await agent('ai_badge_003', '徽章助手', ['产品推荐'])
    // Disabled agents and humans never show up, whatever they can do.
    await agent('ai_retired_004', '退役助手', [], ['订单查询'])
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'ai_retired_004'`)
    await employee(
      { employee_id: 'emp_human_005', name: '人类', skills_badge: ['订单查询'] },
      { capabilities: ['订单查询'] },
    )
    member = (await createAndBind(app, s.h, s.admin, { name: 'Asker', employee_id: 'emp_asker' })).clientId
  })

  it('answers the seed’s example exactly', async () => {
    const a = await callAction(
      app,
      s.h,
      'agent.capability_list',
      member,
      { seq_id: 'agent_cap_seq_001', skill: '订单查询' },
      'agent_cap_seq_001',
    )
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    expect(agentCapabilityList.reply.parse(a.reply.data)).toEqual(a.reply.data)
    expect(a.reply.data).toEqual({ skill: '订单查询', agent_ids: ['ai_sales_001'], agent_profiles: [seedAgent] })
    expect(a.deliveries).toEqual([])
  })

  it('matches a skill among capabilities or badges, in any letter case, as a whole (no substring)', async () => {
    await employee({
      employee_id: 'ai_latin_009',
      name: 'Order Bot',
      is_ai_agent: true,
      skills_badge: ['Realtime'],
      agent_profile: { capabilities: ['Order Lookup'] },
    })
    for (const skill of ['order lookup', 'ORDER LOOKUP', 'Order Lookup', 'realtime']) {
      expect((await callAction(app, s.h, 'agent.capability_list', member, { skill })).reply.data, skill).toEqual({
        skill,
        agent_ids: ['ai_latin_009'],
        agent_profiles: [
          {
            employee_id: 'ai_latin_009',
            name: 'Order Bot',
            capabilities: ['Order Lookup'],
            skills_badge: ['Realtime'],
          },
        ],
      })
    }
    expect(
      (await callAction(app, s.h, 'agent.capability_list', member, { skill: 'order' })).reply.data.agent_ids,
    ).toEqual([])
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'ai_latin_009'`)
    const recommend = await callAction(app, s.h, 'agent.capability_list', member, { skill: '产品推荐' })
    expect(agentCapabilityList.reply.parse(recommend.reply.data)).toEqual({
      skill: '产品推荐',
      agent_ids: ['ai_badge_003', 'ai_sales_001'],
      agent_profiles: [
        { employee_id: 'ai_badge_003', name: '徽章助手', capabilities: [], skills_badge: ['产品推荐'] },
        seedAgent,
      ],
    })
    const badge = await callAction(app, s.h, 'agent.capability_list', member, { skill: '⚡实时响应' })
    expect(badge.reply.data.agent_ids).toEqual(['ai_sales_001'])
    const refund = await callAction(app, s.h, 'agent.capability_list', member, { skill: ' 退款 ' })
    expect(refund.reply.data).toMatchObject({ skill: '退款', agent_ids: ['ai_support_002'] })
    for (const skill of ['订单', '查询', 'nothing']) {
      const none = await callAction(app, s.h, 'agent.capability_list', member, { skill })
      expect(agentCapabilityList.reply.parse(none.reply.data), skill).toEqual({
        skill,
        agent_ids: [],
        agent_profiles: [],
      })
    }
  })

  it('without a skill lists every active agent, and nobody else', async () => {
    const a = await callAction(app, s.h, 'agent.capability_list', member, {})
    expect(a.reply.code).toBe(0)
    const data = agentCapabilityList.reply.parse(a.reply.data)
    expect(a.reply.data).not.toHaveProperty('skill')
    expect(data.agent_ids).toEqual(['ai_badge_003', 'ai_sales_001', 'ai_support_002'])
    expect(data.agent_profiles.map((p) => p.employee_id)).toEqual(data.agent_ids)
    expect(data.agent_profiles[2]).toEqual({
      employee_id: 'ai_support_002',
      name: '客服助手',
      capabilities: ['售后', '退款'],
      skills_badge: ['订单查询专家'],
    })
    for (const p of a.reply.data.agent_profiles)
      expect(Object.keys(p).sort()).toEqual(['capabilities', 'employee_id', 'name', 'skills_badge'])
  })

  it('sees a change of status at once', async () => {
    await s.h.db.query(`UPDATE employee SET status = 'active' WHERE employee_id = 'ai_retired_004'`)
    expect(
      (await callAction(app, s.h, 'agent.capability_list', member, { skill: '订单查询' })).reply.data.agent_ids,
    ).toEqual(['ai_retired_004', 'ai_sales_001'])
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'ai_retired_004'`)
    expect(
      (await callAction(app, s.h, 'agent.capability_list', member, { skill: '订单查询' })).reply.data.agent_ids,
    ).toEqual(['ai_sales_001'])
  })

  it('a malformed agent_profile neither matches by key nor breaks the reply contract', async () => {
    await employee(
      { employee_id: 'ai_odd_006', name: '怪助手', is_ai_agent: true },
      { capabilities: { 订单查询: true } },
    )
    await employee(
      { employee_id: 'ai_mixed_007', name: '混合助手', is_ai_agent: true },
      { capabilities: ['翻译', 7, null, { x: 1 }, '润色'] },
    )
    await employee({ employee_id: 'ai_bare_008', name: '无档案', is_ai_agent: true }, { model_type: 'x' })
    const order = await callAction(app, s.h, 'agent.capability_list', member, { skill: '订单查询' })
    expect(order.reply.data.agent_ids).toEqual(['ai_sales_001'])
    const all = await callAction(app, s.h, 'agent.capability_list', member, {})
    const data = agentCapabilityList.reply.parse(all.reply.data)
    const byId = Object.fromEntries(data.agent_profiles.map((p) => [p.employee_id, p.capabilities]))
    expect(byId).toMatchObject({ ai_odd_006: [], ai_mixed_007: ['翻译', '润色'], ai_bare_008: [] })
    expect(
      (await callAction(app, s.h, 'agent.capability_list', member, { skill: '润色' })).reply.data.agent_ids,
    ).toEqual(['ai_mixed_007'])
    await s.h.db.query(
      `UPDATE employee SET status = 'disabled' WHERE employee_id IN ('ai_odd_006', 'ai_mixed_007', 'ai_bare_008')`,
    )
  })

  it('refuses an unbound client and a bad skill', async () => {
    expect((await callAction(app, s.h, 'agent.capability_list', 'ghost.dev', {})).reply.code).toBe(401)
    for (const skill of ['', '   ', 'x'.repeat(65), 42]) {
      const a = await callAction(app, s.h, 'agent.capability_list', member, { skill })
      expect([a.reply.code, a.reply.message.split(':')[0]], String(skill)).toEqual([400, 'skill'])
    }
  })
})
