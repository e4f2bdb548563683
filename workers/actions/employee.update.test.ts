import { describe, expect, it } from 'vitest'
import { employeeUpdate, profileChange } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

async function employeeRow(id: string) {
  const { rows } = await s.h.db.query(
    'SELECT name, department_id, manager_id, skills_badge, role, status, updated_at FROM employee WHERE employee_id = $1',
    [id],
  )
  return rows[0]
}

async function create(fields: Record<string, unknown>) {
  const a = await callAction(app, s.h, 'employee.create', s.admin, fields)
  expect(a.reply.code).toBe(0)
  return a.reply.data.employee_id as string
}

describe('employee.update', () => {
  it('applies the seed’s example and delivers the new profile on mchat/profile/{employee_id}', async () => {
    await s.h.db.query(
      `INSERT INTO department (department_id, name, sort_order) VALUES ('dept_sales', '销售部', 1), ('dept_tech', '技术部', 2)`,
    )
    await create({ name: '经理一', employee_id: 'mgr_001' })
    await create({ name: '经理二', employee_id: 'mgr_002' })
    await create({ name: '张三', employee_id: 'emp_zhangsan_001', department_id: 'dept_tech', manager_id: 'mgr_001' })
    const seq = 'dd0e8400-e29b-41d4-a716-446655440008'
    const payload = {
      seq_id: seq,
      employee_id: 'emp_zhangsan_001',
      updates: { name: '张三（销售）', department_id: 'dept_sales', manager_id: 'mgr_002' },
    }
    const a = await callAction(app, s.h, 'employee.update', s.admin, payload, seq)
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = employeeUpdate.reply.parse(a.reply.data)
    expect(Object.keys(a.reply.data).sort()).toEqual(['employee_id', 'updated_at'])
    expect(data.employee_id).toBe('emp_zhangsan_001')
    expect(Date.parse(data.updated_at)).toBeGreaterThan(Date.now() - 60_000)

    expect(a.deliveries).toHaveLength(1)
    expect(a.deliveries[0]!.topic).toBe('mchat/profile/emp_zhangsan_001')
    expect(profileChange.parse(a.deliveries[0]!.payload)).toEqual({
      employee_id: 'emp_zhangsan_001',
      event: 'updated',
      fields: ['name', 'department_id', 'manager_id'],
      profile: {
        name: '张三（销售）',
        department_id: 'dept_sales',
        manager_id: 'mgr_002',
        is_ai_agent: false,
        skills_badge: [],
        status: 'active',
      },
      updated_at: data.updated_at,
    })
    const row = await employeeRow('emp_zhangsan_001')
    expect(row).toMatchObject({
      name: '张三（销售）',
      department_id: 'dept_sales',
      manager_id: 'mgr_002',
      role: 'member',
      status: 'active',
    })
    expect(new Date(row.updated_at).toISOString()).toBe(data.updated_at)

    // org.tree shows the change.
    const tree = await callAction(app, s.h, 'org.tree', s.admin)
    expect(
      tree.reply.data.employees.find((e: { employee_id: string }) => e.employee_id === 'emp_zhangsan_001'),
    ).toMatchObject({ name: '张三（销售）', department_id: 'dept_sales', manager_id: 'mgr_002' })

    // The update is audited with what changed.
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, result_code FROM audit_log WHERE action = 'employee.update' AND params->>'employee_id' = 'emp_zhangsan_001'`,
    )
    expect(audit.rows).toEqual([
      {
        operator_employee_id: 'admin',
        params: {
          employee_id: 'emp_zhangsan_001',
          fields: ['name', 'department_id', 'manager_id'],
          updates: payload.updates,
        },
        result_code: 0,
      },
    ])
  })

  it('the profile carries every field as it now is, and `fields` only what the request set', async () => {
    await s.h.db.query(`INSERT INTO department (department_id, name) VALUES ('dept_prof', 'Prof')`)
    const id = await create({
      name: 'Agent P',
      employee_id: 'ai_prof',
      is_ai_agent: true,
      department_id: 'dept_prof',
      skills_badge: ['old'],
    })
    const a = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: id,
      updates: { skills_badge: ['⚡实时响应', '客服'] },
    })
    expect(a.reply.code).toBe(0)
    expect(profileChange.parse(a.deliveries[0]!.payload)).toMatchObject({
      fields: ['skills_badge'],
      profile: {
        name: 'Agent P',
        department_id: 'dept_prof',
        manager_id: null,
        is_ai_agent: true,
        skills_badge: ['⚡实时响应', '客服'],
        status: 'active',
      },
    })
    expect((await employeeRow(id)).skills_badge).toEqual(['⚡实时响应', '客服'])
    // null takes an employee out of their department.
    const b = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: id,
      updates: { department_id: null },
    })
    expect(b.reply.code).toBe(0)
    expect(profileChange.parse(b.deliveries[0]!.payload)).toMatchObject({
      fields: ['department_id'],
      profile: { department_id: null, skills_badge: ['⚡实时响应', '客服'] },
    })
    expect((await employeeRow(id)).department_id).toBeNull()
  })

  it('an employee may rename themselves, and change nothing else', async () => {
    const m = await createAndBind(app, s.h, s.admin, { name: 'Self', employee_id: 'emp_self' })
    const a = await callAction(app, s.h, 'employee.update', m.clientId, {
      employee_id: 'emp_self',
      updates: { name: '  Self Renamed ' },
    })
    expect(a.reply.code).toBe(0)
    employeeUpdate.reply.parse(a.reply.data)
    expect(profileChange.parse(a.deliveries[0]!.payload)).toMatchObject({
      employee_id: 'emp_self',
      fields: ['name'],
      profile: { name: 'Self Renamed' },
    })
    expect((await employeeRow('emp_self')).name).toBe('Self Renamed')

    for (const [updates, message] of [
      [{ department_id: 'dept_sales' }, 'only org admins can change department_id'],
      [{ manager_id: 'admin' }, 'only org admins can change manager_id'],
      [{ skills_badge: ['boss'] }, 'only org admins can change skills_badge'],
      [{ name: 'X', role: 'admin' }, 'only org admins can change role'],
      [{ status: 'disabled' }, 'only org admins can change status'],
    ] as const) {
      const r = await callAction(app, s.h, 'employee.update', m.clientId, {
        employee_id: 'emp_self',
        updates,
        ...(await challengeFor(app, s.h, m.clientId)),
      })
      expect([r.status, r.reply.code, r.reply.message], JSON.stringify(updates)).toEqual([403, 403, message])
      expect(r.deliveries).toEqual([])
    }
    expect(await employeeRow('emp_self')).toMatchObject({
      name: 'Self Renamed',
      department_id: null,
      manager_id: null,
      skills_badge: [],
      role: 'member',
      status: 'active',
    })

    // Nor anyone else, not even their name.
    const other = await callAction(app, s.h, 'employee.update', m.clientId, {
      employee_id: 'admin',
      updates: { name: 'Hacked' },
    })
    expect([other.reply.code, other.reply.message]).toEqual([403, 'only org admins can update other employees'])
    expect((await employeeRow('admin')).name).not.toBe('Hacked')
    const audit = await s.h.db.query(
      `SELECT result_code, params->>'error' AS error FROM audit_log WHERE action = 'employee.update' AND client_id = $1 ORDER BY audit_id`,
      [m.clientId],
    )
    expect(audit.rows.map((r) => r.result_code)).toEqual([0, 403, 403, 403, 403, 403, 403])
    expect(audit.rows.at(-1)).toEqual({ result_code: 403, error: 'only org admins can update other employees' })
  })

  it('admins change role and status of others with a challenge; a disabled employee can do nothing', async () => {
    const e = await createAndBind(app, s.h, s.admin, { name: 'Promoted', employee_id: 'emp_promo' })
    const noChallenge = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_promo',
      updates: { role: 'admin' },
    })
    expect(noChallenge.reply.code).toBe(403)
    expect(noChallenge.reply.message).toMatch(/auth\.challenge/)
    expect((await employeeRow('emp_promo')).role).toBe('member')

    const promote = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_promo',
      updates: { role: 'admin' },
      ...(await challengeFor(app, s.h, s.admin)),
    })
    expect(promote.reply.code).toBe(0)
    employeeUpdate.reply.parse(promote.reply.data)
    // role is not part of the public profile, but the change is announced.
    expect(profileChange.parse(promote.deliveries[0]!.payload)).toMatchObject({
      fields: ['role'],
      profile: { status: 'active' },
    })
    expect((await employeeRow('emp_promo')).role).toBe('admin')
    // The promoted employee now acts as an admin.
    expect(
      (await callAction(app, s.h, 'department.create', e.clientId, { department_id: 'dept_promo', name: 'Promo' }))
        .reply.code,
    ).toBe(0)

    const disable = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_promo',
      updates: { status: 'disabled' },
      ...(await challengeFor(app, s.h, s.admin, 'employee.update')),
    })
    expect(disable.reply.code).toBe(0)
    expect(profileChange.parse(disable.deliveries[0]!.payload)).toMatchObject({
      fields: ['status'],
      profile: { status: 'disabled' },
    })
    for (const [action, payload] of [
      ['org.tree', {}],
      ['auth.challenge', {}],
      ['employee.update', { employee_id: 'emp_promo', updates: { name: 'Back' } }],
    ] as const) {
      const r = await callAction(app, s.h, action, e.clientId, payload)
      expect([r.status, r.reply.code, r.reply.message], action).toEqual([403, 403, 'employee is disabled'])
    }

    const enable = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_promo',
      updates: { status: 'active' },
      ...(await challengeFor(app, s.h, s.admin)),
    })
    expect(enable.reply.code).toBe(0)
    expect((await callAction(app, s.h, 'org.tree', e.clientId)).reply.code).toBe(0)
  })

  it('no admin can change their own role or status, even with a challenge; their name they can', async () => {
    for (const updates of [{ role: 'member' }, { status: 'disabled' }]) {
      const pair = await challengeFor(app, s.h, s.admin)
      const a = await callAction(app, s.h, 'employee.update', s.admin, { employee_id: 'admin', updates, ...pair })
      expect([a.status, a.reply.code, a.reply.message]).toEqual([
        403,
        403,
        'admins cannot change their own role or status',
      ])
    }
    expect(await employeeRow('admin')).toMatchObject({ role: 'admin', status: 'active' })
    const before = (await employeeRow('admin')).name
    const r = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'admin',
      updates: { name: 'Chief' },
    })
    expect(r.reply.code).toBe(0)
    expect((await employeeRow('admin')).name).toBe('Chief')
    expect(
      (await callAction(app, s.h, 'employee.update', s.admin, { employee_id: 'admin', updates: { name: before } }))
        .reply.code,
    ).toBe(0)
  })

  it('404 for an unknown employee, department or manager; 400 for managing oneself', async () => {
    await create({ name: 'Target', employee_id: 'emp_target' })
    const ghost = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_ghost',
      updates: { name: 'X' },
    })
    expect([ghost.status, ghost.reply.code, ghost.reply.message]).toEqual([404, 404, 'employee_id: no such employee'])
    const dept = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_target',
      updates: { department_id: 'dept_none' },
    })
    expect([dept.reply.code, dept.reply.message]).toEqual([404, 'department_id: no such department'])
    const mgr = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_target',
      updates: { name: 'Y', manager_id: 'mgr_none' },
    })
    expect([mgr.reply.code, mgr.reply.message]).toEqual([404, 'manager_id: no such employee'])
    expect(mgr.deliveries).toEqual([])
    const selfManaged = await callAction(app, s.h, 'employee.update', s.admin, {
      employee_id: 'emp_target',
      updates: { manager_id: 'emp_target' },
    })
    expect(selfManaged.reply.code).toBe(400)
    expect(await employeeRow('emp_target')).toMatchObject({ name: 'Target', department_id: null, manager_id: null })
  })

  it('400 for an empty or unknown update, naming the field', async () => {
    await create({ name: 'Bad', employee_id: 'emp_bad' })
    const empty = await callAction(app, s.h, 'employee.update', s.admin, { employee_id: 'emp_bad', updates: {} })
    expect([empty.status, empty.reply.code, empty.reply.message]).toEqual([
      400,
      400,
      'updates: must change at least one field',
    ])
    for (const updates of [
      { password: 'x' },
      { is_ai_agent: 'yes' },
      { name: '' },
      { role: 'root' },
      { skills_badge: 'x' },
      { department_id: 'a/b' },
    ]) {
      const r = await callAction(app, s.h, 'employee.update', s.admin, { employee_id: 'emp_bad', updates })
      expect([r.reply.code, r.reply.message.startsWith('updates')], JSON.stringify(updates)).toEqual([400, true])
    }
    expect((await callAction(app, s.h, 'employee.update', s.admin, { employee_id: 'emp_bad' })).reply.message).toMatch(
      /^updates: /,
    )
    expect((await callAction(app, s.h, 'employee.update', s.admin, { updates: { name: 'Z' } })).reply.message).toMatch(
      /^employee_id: /,
    )
  })

  it('a repeated request returns the same reply and delivery, and updates once', async () => {
    await create({ name: 'Once', employee_id: 'emp_once' })
    const seq = nextSeq()
    const first = await callAction(
      app,
      s.h,
      'employee.update',
      s.admin,
      { employee_id: 'emp_once', updates: { name: 'Once 2' } },
      seq,
    )
    // Changed in between: the repeat must not write again.
    await s.h.db.query(`UPDATE employee SET name = 'Changed' WHERE employee_id = 'emp_once'`)
    const again = await callAction(
      app,
      s.h,
      'employee.update',
      s.admin,
      { employee_id: 'emp_once', updates: { name: 'Once 2' } },
      seq,
    )
    expect(again.reply).toEqual(first.reply)
    expect(again.deliveries).toEqual(first.deliveries)
    expect((await employeeRow('emp_once')).name).toBe('Changed')
    const audit = await s.h.db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'employee.update' AND params->>'employee_id' = 'emp_once'`,
    )
    expect(audit.rows[0].n).toBe(1)
  })
})
