import { describe, expect, it } from 'vitest'
import { GROUP_MAX_MEMBERS, groupCreate, memberJoinedNotice } from '../../schema/index.ts'
import { bulkEmployees, callAction, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

const groupsNamed = async (name: string) =>
  (await s.h.db.query('SELECT count(*)::int AS n FROM chat_group WHERE name = $1', [name])).rows[0].n as number

describe('group.create', () => {
  it('creates the seed’s group: the caller owns it, and every member, the owner included, gets one member_joined notice', async () => {
    const zs = await createAndBind(app, s.h, s.admin, { name: '张三', employee_id: 'emp_zhangsan_001' })
    await createAndBind(app, s.h, s.admin, { name: '李四', employee_id: 'emp_lisi_002' })
    await createAndBind(app, s.h, s.admin, { name: '销售助手', employee_id: 'ai_sales_001', is_ai_agent: true })
    const a = await callAction(app, s.h, 'group.create', zs.clientId, {
      name: 'XX项目组',
      member_ids: ['emp_zhangsan_001', 'emp_lisi_002', 'ai_sales_001'],
      opts: { description: '项目协作群' },
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = groupCreate.reply.parse(a.reply.data)
    expect(data).toEqual({
      group_id: expect.stringMatching(/^grp_/),
      name: 'XX项目组',
      owner_id: 'emp_zhangsan_001',
      member_ids: ['emp_zhangsan_001', 'emp_lisi_002', 'ai_sales_001'],
      created_at: expect.any(String),
    })

    const group = await s.h.db.query(
      'SELECT name, creator_employee_id, description, dismissed_at FROM chat_group WHERE group_id = $1',
      [data.group_id],
    )
    expect(group.rows).toEqual([
      { name: 'XX项目组', creator_employee_id: 'emp_zhangsan_001', description: '项目协作群', dismissed_at: null },
    ])
    const members = await s.h.db.query(
      'SELECT employee_id, role FROM group_member WHERE group_id = $1 ORDER BY employee_id',
      [data.group_id],
    )
    expect(members.rows).toEqual([
      { employee_id: 'ai_sales_001', role: 'member' },
      { employee_id: 'emp_lisi_002', role: 'member' },
      { employee_id: 'emp_zhangsan_001', role: 'owner' },
    ])

    expect(a.deliveries.map((d) => d.topic)).toEqual([
      'mchat/inbox/emp_zhangsan_001',
      'mchat/inbox/emp_lisi_002',
      'mchat/inbox/ai_sales_001',
    ])
    const notices = a.deliveries.map((d) => memberJoinedNotice.parse(d.payload))
    for (const n of notices) {
      expect(n).toEqual({
        notify_id: notices[0]!.notify_id,
        type: 'member_joined',
        title: '入群通知',
        body: { group_id: data.group_id, group_name: 'XX项目组', inviter_id: 'emp_zhangsan_001' },
        created_at: data.created_at,
      })
    }

    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, result_code FROM audit_log WHERE action = 'group.create' AND client_id = $1`,
      [zs.clientId],
    )
    expect(audit.rows).toEqual([
      {
        operator_employee_id: 'emp_zhangsan_001',
        params: { group_id: data.group_id, name: 'XX项目组', member_count: 3 },
        result_code: 0,
      },
    ])
  })

  it('puts the owner first whether or not the request names them, and drops repeated ids', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'gc_order_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'A', employee_id: 'gc_order_a' })
    await createAndBind(app, s.h, s.admin, { name: 'B', employee_id: 'gc_order_b' })
    const a = await callAction(app, s.h, 'group.create', owner.clientId, {
      name: 'Order',
      member_ids: ['gc_order_b', 'gc_order_a', 'gc_order_owner', 'gc_order_b', 'gc_order_a'],
    })
    expect(a.reply.code).toBe(0)
    const data = groupCreate.reply.parse(a.reply.data)
    expect(data.member_ids).toEqual(['gc_order_owner', 'gc_order_b', 'gc_order_a'])
    expect(a.deliveries.map((d) => d.topic)).toEqual([
      'mchat/inbox/gc_order_owner',
      'mchat/inbox/gc_order_b',
      'mchat/inbox/gc_order_a',
    ])
    const count = await s.h.db.query('SELECT count(*)::int AS n FROM group_member WHERE group_id = $1', [data.group_id])
    expect(count.rows[0].n).toBe(3)

    // Only the owner named: a group of one, told to its owner.
    const alone = await callAction(app, s.h, 'group.create', owner.clientId, {
      name: 'Alone',
      member_ids: ['gc_order_owner'],
    })
    expect(groupCreate.reply.parse(alone.reply.data).member_ids).toEqual(['gc_order_owner'])
    expect(alone.deliveries.map((d) => d.topic)).toEqual(['mchat/inbox/gc_order_owner'])
  })

  it('400 naming the field for an empty or missing member_ids and a bad name', async () => {
    const empty = await callAction(app, s.h, 'group.create', s.admin, { name: 'Empty', member_ids: [] })
    expect([empty.status, empty.reply.code, empty.reply.message, empty.reply.data]).toEqual([
      400,
      400,
      'member_ids: must not be empty',
      null,
    ])
    const missing = await callAction(app, s.h, 'group.create', s.admin, { name: 'Missing' })
    expect([missing.reply.code, missing.reply.message]).toEqual([400, expect.stringMatching(/^member_ids: /)])
    const blank = await callAction(app, s.h, 'group.create', s.admin, { name: '   ', member_ids: ['admin'] })
    expect([blank.reply.code, blank.reply.message]).toEqual([400, expect.stringMatching(/^name: /)])
    const badId = await callAction(app, s.h, 'group.create', s.admin, { name: 'Bad', member_ids: ['a/b'] })
    expect([badId.reply.code, badId.reply.message]).toEqual([400, expect.stringMatching(/^member_ids\.0: /)])
    expect(await groupsNamed('Empty')).toBe(0)
    expect(await groupsNamed('Missing')).toBe(0)
  })

  it('404 naming the unknown ids, 403 naming disabled ones; nothing is created', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'gc_refuse_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'Ok', employee_id: 'gc_refuse_ok' })
    const unknown = await callAction(app, s.h, 'group.create', owner.clientId, {
      name: 'Refused',
      member_ids: ['gc_refuse_ok', 'gc_ghost_1', 'gc_ghost_2'],
    })
    expect([unknown.status, unknown.reply.code]).toEqual([404, 404])
    expect(unknown.reply.message).toBe('member_ids: no such employee: gc_ghost_1, gc_ghost_2')
    expect(unknown.deliveries).toEqual([])

    await createAndBind(app, s.h, s.admin, { name: 'Off', employee_id: 'gc_refuse_off' })
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'gc_refuse_off'`)
    const disabled = await callAction(app, s.h, 'group.create', owner.clientId, {
      name: 'Refused',
      member_ids: ['gc_refuse_ok', 'gc_refuse_off'],
    })
    expect([disabled.status, disabled.reply.code]).toEqual([403, 403])
    expect(disabled.reply.message).toBe('member_ids: disabled employees cannot join: gc_refuse_off')
    expect(await groupsNamed('Refused')).toBe(0)

    // A disabled caller creates nothing either, and an unbound client is 401.
    const off = await createAndBind(app, s.h, s.admin, { name: 'Off2', employee_id: 'gc_refuse_off2' })
    await s.h.db.query(`UPDATE employee SET status = 'disabled' WHERE employee_id = 'gc_refuse_off2'`)
    const byDisabled = await callAction(app, s.h, 'group.create', off.clientId, {
      name: 'Refused',
      member_ids: ['gc_refuse_ok'],
    })
    expect([byDisabled.reply.code, byDisabled.reply.message]).toEqual([403, 'employee is disabled'])
    expect(
      (await callAction(app, s.h, 'group.create', 'gc_nobody.dev', { name: 'Refused', member_ids: ['gc_refuse_ok'] }))
        .reply.code,
    ).toBe(401)
    expect(await groupsNamed('Refused')).toBe(0)

    const audit = await s.h.db.query(
      `SELECT result_code FROM audit_log WHERE action = 'group.create' AND client_id = $1 ORDER BY audit_id`,
      [owner.clientId],
    )
    expect(audit.rows.map((r) => r.result_code)).toEqual([404, 403])
  })

  it(`400 for more than ${GROUP_MAX_MEMBERS} members, the owner included`, async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'gc_big_owner' })
    const others = await bulkEmployees(s.h, 'gc_over', GROUP_MAX_MEMBERS)
    // 2,000 others and the owner: one too many.
    const over = await callAction(app, s.h, 'group.create', owner.clientId, { name: 'Too big', member_ids: others })
    expect([over.status, over.reply.code]).toEqual([400, 400])
    expect(over.reply.message).toBe(`member_ids: a group has at most ${GROUP_MAX_MEMBERS} members, its owner included`)
    // More ids than any group can hold are refused by the contract.
    const tooMany = await callAction(app, s.h, 'group.create', owner.clientId, {
      name: 'Too big',
      member_ids: [...others, 'gc_big_owner'],
    })
    expect([tooMany.reply.code, tooMany.reply.message]).toEqual([
      400,
      `member_ids: at most ${GROUP_MAX_MEMBERS} members`,
    ])
    expect(await groupsNamed('Too big')).toBe(0)
  })

  it(`creates a ${GROUP_MAX_MEMBERS}-member group in one request, with exactly one notice per member inbox`, async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'gc_full_owner' })
    const others = await bulkEmployees(s.h, 'gc_full', GROUP_MAX_MEMBERS - 1)
    const a = await callAction(app, s.h, 'group.create', owner.clientId, {
      name: 'Full',
      member_ids: ['gc_full_owner', ...others],
    })
    expect(a.reply.code).toBe(0)
    const data = groupCreate.reply.parse(a.reply.data)
    expect(data.member_ids).toHaveLength(GROUP_MAX_MEMBERS)
    expect(data.member_ids).toEqual(['gc_full_owner', ...others])

    expect(a.deliveries).toHaveLength(GROUP_MAX_MEMBERS)
    const topics = new Set(a.deliveries.map((d) => d.topic))
    expect(topics.size).toBe(GROUP_MAX_MEMBERS)
    expect([...topics].sort()).toEqual(data.member_ids.map((id) => `mchat/inbox/${id}`).sort())
    const ids = new Set(a.deliveries.map((d) => memberJoinedNotice.parse(d.payload).notify_id))
    expect(ids.size).toBe(1)

    const rows = await s.h.db.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE role = 'owner')::int AS owners FROM group_member WHERE group_id = $1`,
      [data.group_id],
    )
    expect(rows.rows[0]).toEqual({ n: GROUP_MAX_MEMBERS, owners: 1 })
    // The fan-out is derived, not stored with the reply.
    const stored = await s.h.db.query(
      `SELECT jsonb_array_length(deliveries) AS n FROM request_reply WHERE client_id = $1 AND action = 'group.create'`,
      [owner.clientId],
    )
    expect(stored.rows).toEqual([{ n: 0 }])
  })

  it('a repeated request returns the identical reply and notices and creates no second group; another body under the seq_id is 409', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'gc_rep_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'M', employee_id: 'gc_rep_m' })
    const seq = nextSeq()
    const body = { name: 'Replayed', member_ids: ['gc_rep_m'] }
    const first = await callAction(app, s.h, 'group.create', owner.clientId, body, seq)
    expect(first.reply.code).toBe(0)
    const again = await callAction(app, s.h, 'group.create', owner.clientId, body, seq)
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    expect(again.deliveries).toHaveLength(2)
    expect(await groupsNamed('Replayed')).toBe(1)

    const other = await callAction(app, s.h, 'group.create', owner.clientId, { ...body, name: 'Replayed 2' }, seq)
    expect([other.status, other.reply.code, other.reply.message]).toEqual([
      409,
      409,
      'seq_id was already used for a different request',
    ])
    expect(other.deliveries).toEqual([])
    expect(await groupsNamed('Replayed')).toBe(1)
    expect(await groupsNamed('Replayed 2')).toBe(0)
    const audit = await s.h.db.query(
      `SELECT result_code FROM audit_log WHERE action = 'group.create' AND client_id = $1 ORDER BY audit_id`,
      [owner.clientId],
    )
    expect(audit.rows.map((r) => r.result_code)).toEqual([0, 409])
  })

  it('two copies of one request sent at once make one group and the same answer', async () => {
    const owner = await createAndBind(app, s.h, s.admin, { name: 'Owner', employee_id: 'gc_race_owner' })
    await createAndBind(app, s.h, s.admin, { name: 'M', employee_id: 'gc_race_m' })
    const seq = nextSeq()
    const body = { name: 'Raced', member_ids: ['gc_race_m'] }
    const [x, y] = await Promise.all([
      callAction(app, s.h, 'group.create', owner.clientId, body, seq),
      callAction(app, s.h, 'group.create', owner.clientId, body, seq),
    ])
    expect(x.reply.code).toBe(0)
    expect(y.reply).toEqual(x.reply)
    expect(y.deliveries).toEqual(x.deliveries)
    expect(await groupsNamed('Raced')).toBe(1)
  })
})
