import { describe, expect, it } from 'vitest'
import { departmentUpdate, orgTree } from '../../schema/index.ts'
import { callAction, createAndBind } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

async function departmentRow(id: string) {
  const { rows } = await s.h.db.query(
    'SELECT name, parent_id, sort_order, updated_at FROM department WHERE department_id = $1',
    [id],
  )
  return rows[0]
}

/** Departments as [department_id, name, parent_id, sort_order], through the admin's client. */
async function create(...departments: Array<[string, string, string | null, number]>) {
  for (const [department_id, name, parent_id, sort_order] of departments) {
    const a = await callAction(app, s.h, 'department.create', s.admin, { department_id, name, parent_id, sort_order })
    expect(a.reply.code, department_id).toBe(0)
  }
}

async function treeDepartment(id: string) {
  const a = await callAction(app, s.h, 'org.tree', s.admin)
  return orgTree.reply.parse(a.reply.data).departments.find((d) => d.department_id === id)
}

describe('department.update', () => {
  it('applies the seed’s example: renames, moves under dept_sales and reorders dept_east', async () => {
    await create(
      ['dept_sales', '销售部', null, 1],
      ['dept_tech', '技术部', null, 2],
      ['dept_east', '华东区', 'dept_tech', 1],
    )
    const a = await callAction(
      app,
      s.h,
      'department.update',
      s.admin,
      {
        seq_id: 'dept_seq_002',
        department_id: 'dept_east',
        updates: { name: '华东销售区', parent_id: 'dept_sales', sort_order: 2 },
      },
      'dept_seq_002',
    )
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = departmentUpdate.reply.parse(a.reply.data)
    expect(Object.keys(a.reply.data).sort()).toEqual(['department_id', 'updated_at'])
    expect(data.department_id).toBe('dept_east')
    const row = await departmentRow('dept_east')
    expect(row).toMatchObject({ name: '华东销售区', parent_id: 'dept_sales', sort_order: 2 })
    expect(new Date(row.updated_at).toISOString()).toBe(data.updated_at)
    expect(await treeDepartment('dept_east')).toEqual({
      department_id: 'dept_east',
      name: '华东销售区',
      parent_id: 'dept_sales',
      sort_order: 2,
    })

    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, result_code FROM audit_log WHERE action = 'department.update' AND params->>'department_id' = 'dept_east'`,
    )
    expect(audit.rows).toEqual([
      {
        operator_employee_id: 'admin',
        params: { department_id: 'dept_east', updates: { name: '华东销售区', parent_id: 'dept_sales', sort_order: 2 } },
        result_code: 0,
      },
    ])
  })

  it('changes only what the request names: rename, reorder, move to the top level', async () => {
    await create(['dept_u_root', 'Root', null, 0], ['dept_u', 'U', 'dept_u_root', 5])
    expect(
      (
        await callAction(app, s.h, 'department.update', s.admin, {
          department_id: 'dept_u',
          updates: { name: ' Renamed ' },
        })
      ).reply.code,
    ).toBe(0)
    expect(await departmentRow('dept_u')).toMatchObject({ name: 'Renamed', parent_id: 'dept_u_root', sort_order: 5 })
    expect(
      (
        await callAction(app, s.h, 'department.update', s.admin, {
          department_id: 'dept_u',
          updates: { sort_order: -3 },
        })
      ).reply.code,
    ).toBe(0)
    expect(await departmentRow('dept_u')).toMatchObject({ name: 'Renamed', parent_id: 'dept_u_root', sort_order: -3 })
    expect(
      (
        await callAction(app, s.h, 'department.update', s.admin, {
          department_id: 'dept_u',
          updates: { parent_id: null },
        })
      ).reply.code,
    ).toBe(0)
    expect(await departmentRow('dept_u')).toMatchObject({ name: 'Renamed', parent_id: null, sort_order: -3 })
    expect(await treeDepartment('dept_u')).toEqual({
      department_id: 'dept_u',
      name: 'Renamed',
      parent_id: null,
      sort_order: -3,
    })
  })

  it('400 for moving a department under itself or anything below it', async () => {
    await create(['dept_c_a', 'A', null, 0], ['dept_c_b', 'B', 'dept_c_a', 0], ['dept_c_c', 'C', 'dept_c_b', 0])
    for (const parent_id of ['dept_c_a', 'dept_c_b', 'dept_c_c']) {
      const a = await callAction(app, s.h, 'department.update', s.admin, {
        department_id: 'dept_c_a',
        updates: { parent_id },
      })
      expect([a.status, a.reply.code, a.reply.message], parent_id).toEqual([
        400,
        400,
        'parent_id: would put the department inside itself',
      ])
    }
    const mid = await callAction(app, s.h, 'department.update', s.admin, {
      department_id: 'dept_c_b',
      updates: { name: 'B2', parent_id: 'dept_c_c' },
    })
    expect(mid.reply.code).toBe(400)
    expect(await departmentRow('dept_c_a')).toMatchObject({ parent_id: null })
    expect(await departmentRow('dept_c_b')).toMatchObject({ name: 'B', parent_id: 'dept_c_a' })
    // Moving the leaf up under its grandparent, or a sibling subtree across, is fine.
    expect(
      (
        await callAction(app, s.h, 'department.update', s.admin, {
          department_id: 'dept_c_c',
          updates: { parent_id: 'dept_c_a' },
        })
      ).reply.code,
    ).toBe(0)
    expect((await departmentRow('dept_c_c')).parent_id).toBe('dept_c_a')
  })

  it('404 for an unknown department or parent', async () => {
    await create(['dept_known', 'Known', null, 0])
    const ghost = await callAction(app, s.h, 'department.update', s.admin, {
      department_id: 'dept_ghost',
      updates: { name: 'X' },
    })
    expect([ghost.status, ghost.reply.code, ghost.reply.message]).toEqual([
      404,
      404,
      'department_id: no such department',
    ])
    const parent = await callAction(app, s.h, 'department.update', s.admin, {
      department_id: 'dept_known',
      updates: { name: 'Y', parent_id: 'dept_nowhere' },
    })
    expect([parent.status, parent.reply.code, parent.reply.message]).toEqual([
      404,
      404,
      'parent_id: no such department',
    ])
    expect(await departmentRow('dept_known')).toMatchObject({ name: 'Known', parent_id: null })
  })

  it('only org admins may update departments', async () => {
    await create(['dept_guarded', 'Guarded', null, 0])
    const m = await createAndBind(app, s.h, s.admin, {
      name: 'Member',
      employee_id: 'emp_du_member',
      department_id: 'dept_guarded',
    })
    const a = await callAction(app, s.h, 'department.update', m.clientId, {
      department_id: 'dept_guarded',
      updates: { name: 'Mine' },
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([403, 403, 'only org admins can update departments'])
    expect((await departmentRow('dept_guarded')).name).toBe('Guarded')
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, result_code, params->>'error' AS error FROM audit_log WHERE action = 'department.update' AND client_id = $1`,
      [m.clientId],
    )
    expect(audit.rows).toEqual([
      { operator_employee_id: 'emp_du_member', result_code: 403, error: 'only org admins can update departments' },
    ])
  })

  it('400 for an empty or unknown update, naming the field', async () => {
    const empty = await callAction(app, s.h, 'department.update', s.admin, { department_id: 'dept_known', updates: {} })
    expect([empty.reply.code, empty.reply.message]).toEqual([400, 'updates: must change at least one field'])
    for (const updates of [{ department_id: 'dept_x' }, { name: '' }, { sort_order: 'first' }, { parent_id: 'a b' }]) {
      const a = await callAction(app, s.h, 'department.update', s.admin, { department_id: 'dept_known', updates })
      expect([a.reply.code, a.reply.message.startsWith('updates')], JSON.stringify(updates)).toEqual([400, true])
    }
  })
})
