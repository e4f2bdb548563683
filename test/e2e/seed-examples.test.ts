import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  agentCapabilityList,
  authBind,
  authChallenge,
  departmentCreate,
  departmentDelete,
  departmentUpdate,
  employeeCreate,
  employeeJoinedNotice,
  employeeUpdate,
  groupCreate,
  groupDismiss,
  groupDismissedNotice,
  groupMemberAdd,
  groupMemberRemove,
  groupMessage,
  memberJoinedNotice,
  memberRemovedNotice,
  msgReadAck,
  msgSendGroup,
  msgSendPrivate,
  orgTree,
  privateMessage,
  profileChange,
  readReceipt,
  SYSTEM_NOTIFY_TOPIC,
  type MqttConnection,
} from '../../schema/index.ts'
import { connectBound, loginOf, superuserLogin } from '../support/logins.ts'
import { connectClient, type TestClient } from '../support/mqtt-client.ts'
import { startTestSystem, type TestSystem } from '../support/system.ts'

/**
 * Every example of seed 002 §3 through the real path (MQTT → relay → worker → Postgres): the
 * requests as the seed writes them (seq_id in the payload and the same one in the topic; only
 * ids the server issues are substituted), each reply checked against its contract and each
 * delivery on its topic.
 */
let sys: TestSystem
const clients: TestClient[] = []
let admin: TestClient
let zs: TestClient
let lisi: TestClient
/** Sees every delivery namespace, to check where each one went. */
let observer: TestClient
const creds: Record<string, MqttConnection> = {}

async function connectAs(employeeId: string, device: string): Promise<TestClient> {
  const c = await connectBound(sys.mqttUrl, creds[employeeId]!, device)
  clients.push(c)
  return c
}

/** Publishes a seed example as written: to mchat/msg/req/{client_id}/{its seq_id}. */
async function send(c: TestClient, example: { action: string; seq_id: string } & Record<string, unknown>) {
  const { action, ...rest } = example
  const reply = await c.request(action, rest, example.seq_id)
  return reply
}

const delivered = (topic: string, pred: (p: any) => boolean = () => true) => observer.waitFor(topic, pred)

beforeAll(async () => {
  sys = await startTestSystem()
  creds.admin = sys.admin.mqtt_connection
  admin = await connectAs('admin', 'seed')
  observer = await connectClient(sys.mqttUrl, 'observer.seed', await superuserLogin(sys.dataDir, 'observer.seed'))
  clients.push(observer)
  for (const t of ['mchat/inbox/+', 'mchat/group/+', 'mchat/profile/+', SYSTEM_NOTIFY_TOPIC])
    await observer.subscribe(t)

  // The departments and colleagues the examples name.
  for (const [department_id, name, sort_order] of [
    ['dept_sales', '销售部', 1],
    ['dept_tech', '技术部', 2],
  ] as const) {
    expect((await admin.request('department.create', { department_id, name, sort_order })).code).toBe(0)
  }
  const people: Array<Record<string, unknown>> = [
    { employee_id: 'mgr_001', name: '经理一' },
    { employee_id: 'mgr_002', name: '经理二' },
    { employee_id: 'emp_zhangsan_001', name: '张三', department_id: 'dept_sales', manager_id: 'mgr_001' },
    { employee_id: 'emp_lisi_002', name: '李四', department_id: 'dept_sales' },
    { employee_id: 'emp_wangwu_003', name: '王五', department_id: 'dept_tech' },
    {
      employee_id: 'ai_sales_001',
      name: '销售小助',
      department_id: 'dept_sales',
      is_ai_agent: true,
      skills_badge: ['⚡实时响应'],
      agent_profile: { capabilities: ['订单查询', '产品推荐'] },
    },
  ]
  for (const p of people) {
    const r = await admin.request('employee.create', p)
    expect(r.code, JSON.stringify(r)).toBe(0)
    creds[p.employee_id as string] = r.data.mqtt_connection
  }
  zs = await connectAs('emp_zhangsan_001', 'device1')
  lisi = await connectAs('emp_lisi_002', 'phone')
}, 90_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()))
  await sys?.close()
})

describe('seed 002 §3 examples over MQTT', () => {
  let groupId = ''
  let eastId = ''

  it('§3.1 auth.bind: as written where the broker ties client ids to employees; with the mqtt_password as proof elsewhere', async () => {
    const example = {
      action: 'auth.bind',
      seq_id: 'bb0e8400-e29b-41d4-a716-446655440006',
      employee_id: 'emp_zhangsan_001',
    }
    const c = await connectClient(sys.mqttUrl, 'emp_zhangsan_001.seedbind', loginOf(creds.emp_zhangsan_001!))
    clients.push(c)
    const asWritten = await send(c, example)
    if (sys.brokerEnforces) {
      // The embedded broker checked the password at CONNECT and that the client id is the employee's.
      expect([asWritten.code, asWritten.message]).toEqual([0, 'ok'])
      expect(authBind.reply.parse(asWritten.data)).toEqual({ employee_id: 'emp_zhangsan_001' })
      return
    }
    expect([asWritten.code, asWritten.data]).toEqual([400, null])
    expect(asWritten.message).toMatch(/^mqtt_password: /)
    const r = await send(c, {
      ...example,
      seq_id: 'bb0e8400-e29b-41d4-a716-446655440016',
      mqtt_password: creds.emp_zhangsan_001!.mqtt_password,
    })
    expect([r.code, r.message]).toEqual([0, 'ok'])
    expect(authBind.reply.parse(r.data)).toEqual({ employee_id: 'emp_zhangsan_001' })
  })

  it('§3.2 auth.challenge', async () => {
    const r = await send(admin, { action: 'auth.challenge', seq_id: 'cc0e8400-e29b-41d4-a716-446655440007' })
    expect(r.code).toBe(0)
    const d = authChallenge.reply.parse(r.data)
    expect(Object.keys(d).sort()).toEqual(['challenge_id', 'expires_at', 'token'])
    expect(Date.parse(d.expires_at)).toBeGreaterThan(Date.now())
  })

  it('§3.3 employee.create, announced on mchat/system/notify', async () => {
    const r = await send(admin, {
      action: 'employee.create',
      seq_id: '550e8400-e29b-41d4-a716-446655440000',
      name: '张三',
      is_ai_agent: false,
      department_id: 'dept_sales',
      manager_id: 'mgr_001',
    })
    expect(r.code).toBe(0)
    const d = employeeCreate.reply.parse(r.data)
    expect(d.name).toBe('张三')
    expect(d.mqtt_connection).toMatchObject({
      mqtt_username: d.employee_id,
      use_tls: false,
      client_id_scheme: '{employee_id}.{device_id}',
    })
    const n = await delivered(SYSTEM_NOTIFY_TOPIC, (p) => p.body?.employee_id === d.employee_id)
    expect(employeeJoinedNotice.parse(n.payload).body).toEqual({
      employee_id: d.employee_id,
      name: '张三',
      department_id: 'dept_sales',
      is_ai_agent: false,
    })
  })

  it('§3.4 employee.update and §3.18 the profile change on mchat/profile/{employee_id}', async () => {
    const r = await send(admin, {
      action: 'employee.update',
      seq_id: 'dd0e8400-e29b-41d4-a716-446655440008',
      employee_id: 'emp_zhangsan_001',
      updates: { name: '张三（销售）', department_id: 'dept_sales', manager_id: 'mgr_002' },
    })
    expect(r.code).toBe(0)
    const d = employeeUpdate.reply.parse(r.data)
    expect(d.employee_id).toBe('emp_zhangsan_001')
    const p = profileChange.parse((await delivered('mchat/profile/emp_zhangsan_001')).payload)
    expect(p).toMatchObject({
      employee_id: 'emp_zhangsan_001',
      event: 'updated',
      fields: ['name', 'department_id', 'manager_id'],
      profile: { name: '张三（销售）', department_id: 'dept_sales', is_ai_agent: false, skills_badge: [] },
      updated_at: d.updated_at,
    })
  })

  it('§3.5 org.tree', async () => {
    const r = await send(zs, { action: 'org.tree', seq_id: '990e8400-e29b-41d4-a716-446655440004' })
    expect(r.code).toBe(0)
    const t = orgTree.reply.parse(r.data)
    expect(t.departments.filter((d) => d.parent_id === null).slice(0, 2)).toEqual([
      { department_id: 'dept_sales', name: '销售部', parent_id: null, sort_order: 1 },
      { department_id: 'dept_tech', name: '技术部', parent_id: null, sort_order: 2 },
    ])
    expect(t.employees).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          employee_id: 'emp_zhangsan_001',
          name: '张三（销售）',
          department_id: 'dept_sales',
          manager_id: 'mgr_002',
          is_ai_agent: false,
        }),
        expect.objectContaining({
          employee_id: 'ai_sales_001',
          name: '销售小助',
          department_id: 'dept_sales',
          is_ai_agent: true,
        }),
      ]),
    )
  })

  it('§3.6 department.create, department.update, department.delete (the last with a challenge)', async () => {
    const c = await send(admin, {
      action: 'department.create',
      seq_id: 'dept_seq_001',
      name: '华东区',
      parent_id: 'dept_sales',
      sort_order: 1,
    })
    expect(c.code).toBe(0)
    const created = departmentCreate.reply.parse(c.data)
    expect(created).toMatchObject({ name: '华东区', parent_id: 'dept_sales', sort_order: 1 })
    eastId = created.department_id
    const u = await send(admin, {
      action: 'department.update',
      seq_id: 'dept_seq_002',
      department_id: eastId,
      updates: { name: '华东销售区', parent_id: 'dept_sales', sort_order: 2 },
    })
    expect(u.code).toBe(0)
    expect(departmentUpdate.reply.parse(u.data).department_id).toBe(eastId)
    const asWritten = await send(admin, { action: 'department.delete', seq_id: 'dept_seq_003', department_id: eastId })
    expect(asWritten.code).toBe(403)
    expect(asWritten.message).toMatch(/auth\.challenge/)
    const ch = authChallenge.reply.parse(
      (await admin.request('auth.challenge', { for_action: 'department.delete' })).data,
    )
    const d = await send(admin, {
      action: 'department.delete',
      seq_id: 'dept_seq_004',
      department_id: eastId,
      challenge_id: ch.challenge_id,
      token: ch.token,
    })
    expect(d.code).toBe(0)
    expect(departmentDelete.reply.parse(d.data)).toMatchObject({
      department_id: eastId,
      moved_departments: 0,
      moved_employees: 0,
    })
  })

  it('§3.7 group.create and §3.19 member_joined on each member’s inbox', async () => {
    const r = await send(zs, {
      action: 'group.create',
      seq_id: '660e8400-e29b-41d4-a716-446655440001',
      name: 'XX项目组',
      member_ids: ['emp_zhangsan_001', 'emp_lisi_002', 'ai_sales_001'],
      opts: { description: '项目协作群' },
    })
    expect(r.code).toBe(0)
    const d = groupCreate.reply.parse(r.data)
    expect(d).toMatchObject({ name: 'XX项目组', member_ids: ['emp_zhangsan_001', 'emp_lisi_002', 'ai_sales_001'] })
    groupId = d.group_id
    for (const m of d.member_ids) {
      const n = memberJoinedNotice.parse(
        (await delivered(`mchat/inbox/${m}`, (p) => p.body?.group_id === groupId)).payload,
      )
      expect(n).toMatchObject({
        type: 'member_joined',
        title: '入群通知',
        body: { group_id: groupId, group_name: 'XX项目组', inviter_id: 'emp_zhangsan_001' },
      })
    }
  })

  it('§3.11 msg.send_private, delivered on the recipient’s inbox', async () => {
    const r = await send(zs, {
      action: 'msg.send_private',
      seq_id: '770e8400-e29b-41d4-a716-446655440002',
      to_employee_id: 'emp_lisi_002',
      content: '你好，下午会议改到 3 点。',
    })
    expect(r.code).toBe(0)
    const d = msgSendPrivate.reply.parse(r.data)
    expect(d.to_employee_id).toBe('emp_lisi_002')
    const m = privateMessage.parse((await delivered('mchat/inbox/emp_lisi_002', (p) => p.msg_id === d.msg_id)).payload)
    expect(m).toEqual({
      msg_id: d.msg_id,
      type: 'private',
      from_employee_id: 'emp_zhangsan_001',
      to_employee_id: 'emp_lisi_002',
      content: '你好，下午会议改到 3 点。',
      sent_at: d.sent_at,
    })
  })

  it('§3.12 msg.send_group, delivered on mchat/group/{group_id}', async () => {
    const r = await send(zs, {
      action: 'msg.send_group',
      seq_id: '880e8400-e29b-41d4-a716-446655440003',
      group_id: groupId,
      content: '大家记得更新进度到文档。',
    })
    expect(r.code).toBe(0)
    const d = msgSendGroup.reply.parse(r.data)
    expect(d.group_id).toBe(groupId)
    const m = groupMessage.parse((await delivered(`mchat/group/${groupId}`, (p) => p.msg_id === d.msg_id)).payload)
    expect(m).toEqual({
      msg_id: d.msg_id,
      group_id: groupId,
      from_employee_id: 'emp_zhangsan_001',
      content: '大家记得更新进度到文档。',
      sent_at: d.sent_at,
    })
  })

  it('§3.13 msg.read_ack, forwarded to the original sender', async () => {
    const r = await send(lisi, {
      action: 'msg.read_ack',
      seq_id: 'read_ack_seq_001',
      msg_id: 'msg_abc123',
      conversation_type: 'private',
      peer_employee_id: 'emp_zhangsan_001',
    })
    expect(r.code).toBe(0)
    const d = msgReadAck.reply.parse(r.data)
    const receipt = readReceipt.parse(
      (await delivered('mchat/inbox/emp_zhangsan_001', (p) => p.type === 'read_ack')).payload,
    )
    expect(receipt).toEqual({
      type: 'read_ack',
      msg_id: 'msg_abc123',
      conversation_type: 'private',
      reader_id: 'emp_lisi_002',
      read_at: d.read_at,
    })
  })

  it('§3.9 group.member_add', async () => {
    const r = await send(zs, {
      action: 'group.member_add',
      seq_id: 'ff0e8400-e29b-41d4-a716-44665544000a',
      group_id: groupId,
      member_ids: ['emp_wangwu_003'],
    })
    expect(r.code).toBe(0)
    expect(groupMemberAdd.reply.parse(r.data)).toMatchObject({
      group_id: groupId,
      added_ids: ['emp_wangwu_003'],
      current_member_count: 4,
    })
    await delivered('mchat/inbox/emp_wangwu_003', (p) => p.type === 'member_joined' && p.body.group_id === groupId)
  })

  it('§3.10 group.member_remove', async () => {
    const r = await send(zs, {
      action: 'group.member_remove',
      seq_id: '000e8400-e29b-41d4-a716-44665544000b',
      group_id: groupId,
      member_ids: ['emp_wangwu_003'],
    })
    expect(r.code).toBe(0)
    expect(groupMemberRemove.reply.parse(r.data)).toMatchObject({
      group_id: groupId,
      removed_ids: ['emp_wangwu_003'],
      current_member_count: 3,
    })
    const n = (await delivered('mchat/inbox/emp_wangwu_003', (p) => p.type === 'member_removed')).payload
    expect(memberRemovedNotice.parse(n).body).toEqual({
      group_id: groupId,
      group_name: 'XX项目组',
      operator_id: 'emp_zhangsan_001',
    })
  })

  it('§3.15 agent.capability_list', async () => {
    const r = await send(zs, { action: 'agent.capability_list', seq_id: 'agent_cap_seq_001', skill: '订单查询' })
    expect(r.code).toBe(0)
    expect(agentCapabilityList.reply.parse(r.data)).toEqual({
      skill: '订单查询',
      agent_ids: ['ai_sales_001'],
      agent_profiles: [
        {
          employee_id: 'ai_sales_001',
          name: '销售小助',
          capabilities: ['订单查询', '产品推荐'],
          skills_badge: ['⚡实时响应'],
        },
      ],
    })
  })

  it('§3.8 group.dismiss with a challenge, every member told', async () => {
    const ch = authChallenge.reply.parse((await zs.request('auth.challenge', {})).data)
    const r = await send(zs, {
      action: 'group.dismiss',
      seq_id: 'ee0e8400-e29b-41d4-a716-446655440009',
      group_id: groupId,
      challenge_id: ch.challenge_id,
      token: ch.token,
    })
    expect(r.code).toBe(0)
    expect(groupDismiss.reply.parse(r.data).group_id).toBe(groupId)
    for (const m of ['emp_zhangsan_001', 'emp_lisi_002', 'ai_sales_001']) {
      const n = (await delivered(`mchat/inbox/${m}`, (p) => p.type === 'group_dismissed')).payload
      expect(groupDismissedNotice.parse(n).body.group_id).toBe(groupId)
    }
  })

  it('§3.20 errors: 403 with why, 400 naming the field', async () => {
    const denied = await send(lisi, {
      action: 'employee.create',
      seq_id: '550e8400-e29b-41d4-a716-446655440099',
      name: '越权',
    })
    expect([denied.code, denied.data]).toEqual([403, null])
    expect(denied.message).toBe('only org admins can create employees')
    const empty = await send(zs, {
      action: 'group.create',
      seq_id: '660e8400-e29b-41d4-a716-446655440098',
      name: 'XX项目组',
      member_ids: [],
    })
    expect([empty.code, empty.message, empty.data]).toEqual([400, 'member_ids: must not be empty', null])
  })
})
