import { describe, expect, it } from 'vitest'
import { departmentCreate, orgTree } from '../../schema/index.ts'
import { callAction, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

async function departmentRow(id: string) {
  const { rows } = await s.h.db.query(
    'SELECT name, parent_id, sort_order, created_at FROM department WHERE department_id = $1',
    [id],
  )
  return rows[0]
}

async function tree() {
  const a = await callAction(app, s.h, 'org.tree', s.admin)
  return orgTree.reply.parse(a.reply.data)
}

describe('department.create', () => {
  it('creates the seed’s example under dept_sales and org.tree shows it', async () => {
    const sales = await callAction(app, s.h, 'department.create', s.admin, {
      department_id: 'dept_sales',
      name: '销售部',
      parent_id: null,
      sort_order: 1,
    })
    expect(sales.reply.code).toBe(0)
    expect(departmentCreate.reply.parse(sales.reply.data)).toMatchObject({
      department_id: 'dept_sales',
      name: '销售部',
      parent_id: null,
      sort_order: 1,
    })

    const a = await callAction(
      app,
      s.h,
      'department.create',
      s.admin,
      { seq_id: 'dept_seq_001', name: '华东区', parent_id: 'dept_sales', sort_order: 1 },
      'dept_seq_001',
    )
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = departmentCreate.reply.parse(a.reply.data)
    expect(Object.keys(a.reply.data).sort()).toEqual(['created_at', 'department_id', 'name', 'parent_id', 'sort_order'])
    expect(data).toMatchObject({ name: '华东区', parent_id: 'dept_sales', sort_order: 1 })
    expect(data.department_id).toMatch(/^dept_[0-9a-f]{24}$/)
    expect(Date.parse(data.created_at)).toBeGreaterThan(Date.now() - 60_000)
    expect(a.deliveries).toEqual([])

    const row = await departmentRow(data.department_id)
    expect(row).toMatchObject({ name: '华东区', parent_id: 'dept_sales', sort_order: 1 })
    expect(new Date(row.created_at).toISOString()).toBe(data.created_at)
    expect((await tree()).departments).toContainEqual({
      department_id: data.department_id,
      name: '华东区',
      parent_id: 'dept_sales',
      sort_order: 1,
    })

    const audit = await s.h.db.query(
      `SELECT operator_employee_id, client_id, params, result_code FROM audit_log WHERE action = 'department.create' AND params->>'department_id' = $1`,
      [data.department_id],
    )
    expect(audit.rows).toEqual([
      {
        operator_employee_id: 'admin',
        client_id: s.admin,
        params: { department_id: data.department_id, name: '华东区', parent_id: 'dept_sales' },
        result_code: 0,
      },
    ])
  })

  it('defaults to the top level and sort_order 0, and trims the name', async () => {
    const a = await callAction(app, s.h, 'department.create', s.admin, {
      department_id: 'dept_plain',
      name: '  技术部 ',
    })
    expect(departmentCreate.reply.parse(a.reply.data)).toMatchObject({
      department_id: 'dept_plain',
      name: '技术部',
      parent_id: null,
      sort_order: 0,
    })
    expect(await departmentRow('dept_plain')).toMatchObject({ name: '技术部', parent_id: null, sort_order: 0 })
  })

  it('only org admins may create departments', async () => {
    const m = await createAndBind(app, s.h, s.admin, { name: 'Member', employee_id: 'emp_dc_member' })
    const a = await callAction(app, s.h, 'department.create', m.clientId, {
      department_id: 'dept_by_member',
      name: 'Nope',
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([403, 403, 'only org admins can create departments'])
    expect(await departmentRow('dept_by_member')).toBeUndefined()
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, result_code FROM audit_log WHERE action = 'department.create' AND client_id = $1`,
      [m.clientId],
    )
    expect(audit.rows).toEqual([
      {
        operator_employee_id: 'emp_dc_member',
        params: {
          department_id: 'dept_by_member',
          name: 'Nope',
          parent_id: null,
          error: 'only org admins can create departments',
        },
        result_code: 403,
      },
    ])
  })

  it('404 for an unknown parent, 409 for a taken department_id', async () => {
    const orphan = await callAction(app, s.h, 'department.create', s.admin, {
      department_id: 'dept_orphan',
      name: 'Orphan',
      parent_id: 'dept_nowhere',
    })
    expect([orphan.status, orphan.reply.code, orphan.reply.message]).toEqual([
      404,
      404,
      'parent_id: no such department',
    ])
    expect(await departmentRow('dept_orphan')).toBeUndefined()

    expect(
      (await callAction(app, s.h, 'department.create', s.admin, { department_id: 'dept_twice', name: 'First' })).reply
        .code,
    ).toBe(0)
    const dup = await callAction(app, s.h, 'department.create', s.admin, {
      department_id: 'dept_twice',
      name: 'Second',
    })
    expect([dup.status, dup.reply.code, dup.reply.message]).toEqual([409, 409, 'department_id: already exists'])
    expect((await departmentRow('dept_twice')).name).toBe('First')
  })

  it('names the field that breaks the contract', async () => {
    for (const [payload, field] of [
      [{}, 'name'],
      [{ name: '  ' }, 'name'],
      [{ name: 'x'.repeat(65) }, 'name'],
      [{ name: 'A', department_id: 'a.b' }, 'department_id'],
      [{ name: 'A', parent_id: 'a/b' }, 'parent_id'],
      [{ name: 'A', sort_order: 1.5 }, 'sort_order'],
      [{ name: 'A', sort_order: '1' }, 'sort_order'],
    ] as const) {
      const a = await callAction(app, s.h, 'department.create', s.admin, payload)
      expect([a.reply.code, a.reply.message.split(':')[0]], JSON.stringify(payload)).toEqual([400, field])
    }
  })

  it('creates once per seq_id, replaying the same reply', async () => {
    const seq = nextSeq()
    const first = await callAction(app, s.h, 'department.create', s.admin, { name: 'Once' }, seq)
    const again = await callAction(app, s.h, 'department.create', s.admin, { name: 'Once' }, seq)
    expect(first.reply.code).toBe(0)
    expect(again.reply).toEqual(first.reply)
    const { rows } = await s.h.db.query(`SELECT count(*)::int AS n FROM department WHERE name = 'Once'`)
    expect(rows[0].n).toBe(1)
  })
})
