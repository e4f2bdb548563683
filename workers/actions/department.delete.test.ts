import { describe, expect, it } from 'vitest'
import { departmentDelete, orgTree } from '../../schema/index.ts'
import { callAction, challengeFor, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

/** Departments as [department_id, parent_id], through the admin's client. */
async function departments(...list: Array<[string, string | null]>) {
  for (const [department_id, parent_id] of list) {
    const a = await callAction(app, s.h, 'department.create', s.admin, {
      department_id,
      name: department_id,
      parent_id,
    })
    expect(a.reply.code, department_id).toBe(0)
  }
}

async function employees(department_id: string, ...ids: string[]) {
  for (const employee_id of ids) {
    const a = await callAction(app, s.h, 'employee.create', s.admin, { employee_id, name: employee_id, department_id })
    expect(a.reply.code, employee_id).toBe(0)
  }
}

const exists = async (id: string) =>
  (await s.h.db.query('SELECT 1 FROM department WHERE department_id = $1', [id])).rows.length === 1
const parentOf = async (id: string) =>
  (await s.h.db.query('SELECT parent_id FROM department WHERE department_id = $1', [id])).rows[0].parent_id
const departmentOf = async (id: string) =>
  (await s.h.db.query('SELECT department_id FROM employee WHERE employee_id = $1', [id])).rows[0].department_id

async function tree() {
  return orgTree.reply.parse((await callAction(app, s.h, 'org.tree', s.admin)).reply.data)
}

async function del(payload: Record<string, unknown>, clientId = s.admin, seqId = nextSeq()) {
  return callAction(
    app,
    s.h,
    'department.delete',
    clientId,
    { ...payload, ...(await challengeFor(app, s.h, clientId)) },
    seqId,
  )
}

describe('department.delete', () => {
  it('deletes the seed’s example dept_east once a challenge is passed with it', async () => {
    await departments(['dept_sales', null], ['dept_east', 'dept_sales'])
    const bare = await callAction(
      app,
      s.h,
      'department.delete',
      s.admin,
      { seq_id: 'dept_seq_003', department_id: 'dept_east' },
      'dept_seq_003',
    )
    expect([bare.status, bare.reply.code]).toEqual([403, 403])
    expect(bare.reply.message).toMatch(/auth\.challenge/)
    expect(await exists('dept_east')).toBe(true)

    const pair = await challengeFor(app, s.h, s.admin, 'department.delete')
    const a = await callAction(
      app,
      s.h,
      'department.delete',
      s.admin,
      { seq_id: 'dept_seq_004', department_id: 'dept_east', ...pair },
      'dept_seq_004',
    )
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = departmentDelete.reply.parse(a.reply.data)
    expect(data).toMatchObject({
      department_id: 'dept_east',
      reassigned_to: null,
      moved_departments: 0,
      moved_employees: 0,
    })
    expect(Date.parse(data.deleted_at)).toBeGreaterThan(Date.now() - 60_000)
    expect(await exists('dept_east')).toBe(false)
    expect((await tree()).departments.map((d) => d.department_id)).not.toContain('dept_east')

    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params, params::text AS text, result_code FROM audit_log WHERE action = 'department.delete' AND params->>'department_id' = 'dept_east' ORDER BY audit_id`,
    )
    expect(audit.rows.map((r) => r.result_code)).toEqual([403, 0])
    expect(audit.rows[1].params).toEqual({
      department_id: 'dept_east',
      reassign_to: null,
      moved_departments: 0,
      moved_employees: 0,
    })
    expect(audit.rows[1].text).not.toContain(pair.token)
  })

  it('409 with the counts for a department with sub-departments or employees and no reassign_to', async () => {
    await departments(['dept_full', null], ['dept_full_a', 'dept_full'], ['dept_full_b', 'dept_full'])
    await employees('dept_full', 'emp_full_1', 'emp_full_2', 'emp_full_3')
    const a = await del({ department_id: 'dept_full' })
    expect([a.status, a.reply.code]).toEqual([409, 409])
    expect(a.reply.message).toBe(
      'department has 2 sub-departments and 3 employees: pass reassign_to (a department_id, or null for the top level)',
    )
    expect(await exists('dept_full')).toBe(true)
    expect(await parentOf('dept_full_a')).toBe('dept_full')
    expect(await departmentOf('emp_full_1')).toBe('dept_full')

    await departments(['dept_staffed', null])
    await employees('dept_staffed', 'emp_staffed')
    const b = await del({ department_id: 'dept_staffed' })
    expect([b.reply.code, b.reply.message]).toEqual([
      409,
      'department has 0 sub-departments and 1 employees: pass reassign_to (a department_id, or null for the top level)',
    ])
  })

  it('with reassign_to a department: children and employees move there, and the reply counts them', async () => {
    await departments(
      ['dept_old', null],
      ['dept_old_a', 'dept_old'],
      ['dept_old_a1', 'dept_old_a'],
      ['dept_old_b', 'dept_old'],
      ['dept_new', null],
    )
    await employees('dept_old', 'emp_old_1', 'emp_old_2')
    await employees('dept_old_a', 'emp_old_a')
    const a = await del({ department_id: 'dept_old', reassign_to: 'dept_new' })
    expect(a.reply.code).toBe(0)
    expect(departmentDelete.reply.parse(a.reply.data)).toMatchObject({
      department_id: 'dept_old',
      reassigned_to: 'dept_new',
      moved_departments: 2,
      moved_employees: 2,
    })
    expect(await exists('dept_old')).toBe(false)
    const moved = await s.h.db.query(
      `SELECT department_id, parent_id FROM department WHERE department_id LIKE 'dept_old_%' ORDER BY department_id`,
    )
    expect(moved.rows).toEqual([
      { department_id: 'dept_old_a', parent_id: 'dept_new' },
      { department_id: 'dept_old_a1', parent_id: 'dept_old_a' },
      { department_id: 'dept_old_b', parent_id: 'dept_new' },
    ])
    const staff = await s.h.db.query(
      `SELECT employee_id, department_id FROM employee WHERE employee_id LIKE 'emp_old_%' ORDER BY employee_id`,
    )
    expect(staff.rows).toEqual([
      { employee_id: 'emp_old_1', department_id: 'dept_new' },
      { employee_id: 'emp_old_2', department_id: 'dept_new' },
      { employee_id: 'emp_old_a', department_id: 'dept_old_a' },
    ])
    const t = await tree()
    expect(t.departments.map((d) => d.department_id)).not.toContain('dept_old')
    expect(t.departments.find((d) => d.department_id === 'dept_old_b')!.parent_id).toBe('dept_new')
    expect(t.employees.find((e) => e.employee_id === 'emp_old_1')!.department_id).toBe('dept_new')
  })

  it('with reassign_to null: children go to the top level and employees out of any department', async () => {
    await departments(['dept_top', null], ['dept_top_kid', 'dept_top'])
    await employees('dept_top', 'emp_top')
    const a = await del({ department_id: 'dept_top', reassign_to: null })
    expect(a.reply.code).toBe(0)
    expect(departmentDelete.reply.parse(a.reply.data)).toMatchObject({
      reassigned_to: null,
      moved_departments: 1,
      moved_employees: 1,
    })
    expect(await parentOf('dept_top_kid')).toBeNull()
    expect(await departmentOf('emp_top')).toBeNull()
    const t = await tree()
    expect(t.departments.find((d) => d.department_id === 'dept_top_kid')!.parent_id).toBeNull()
    expect(t.employees.find((e) => e.employee_id === 'emp_top')!.department_id).toBeNull()
  })

  it('400 for reassign_to inside the deleted subtree, 404 for an unknown one or an unknown department', async () => {
    await departments(['dept_sub', null], ['dept_sub_a', 'dept_sub'], ['dept_sub_a1', 'dept_sub_a'])
    for (const reassign_to of ['dept_sub', 'dept_sub_a', 'dept_sub_a1']) {
      const a = await del({ department_id: 'dept_sub', reassign_to })
      expect([a.status, a.reply.code, a.reply.message], reassign_to).toEqual([
        400,
        400,
        'reassign_to: must be outside the department being deleted',
      ])
    }
    const unknown = await del({ department_id: 'dept_sub', reassign_to: 'dept_nowhere' })
    expect([unknown.reply.code, unknown.reply.message]).toEqual([404, 'reassign_to: no such department'])
    const ghost = await del({ department_id: 'dept_ghost' })
    expect([ghost.status, ghost.reply.code, ghost.reply.message]).toEqual([
      404,
      404,
      'department_id: no such department',
    ])
    expect(await exists('dept_sub')).toBe(true)
    expect(await parentOf('dept_sub_a')).toBe('dept_sub')
  })

  it('only org admins may delete departments', async () => {
    await departments(['dept_keep', null])
    const m = await createAndBind(app, s.h, s.admin, { name: 'Member', employee_id: 'emp_dd_member' })
    const a = await del({ department_id: 'dept_keep' }, m.clientId)
    expect([a.status, a.reply.code, a.reply.message]).toEqual([403, 403, 'only org admins can delete departments'])
    expect(await exists('dept_keep')).toBe(true)
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, result_code FROM audit_log WHERE action = 'department.delete' AND client_id = $1`,
      [m.clientId],
    )
    expect(audit.rows).toEqual([{ operator_employee_id: 'emp_dd_member', result_code: 403 }])
  })

  it('a repeated request replays the reply without needing a new challenge', async () => {
    await departments(['dept_rep', null])
    const pair = await challengeFor(app, s.h, s.admin)
    const seq = nextSeq()
    const first = await callAction(app, s.h, 'department.delete', s.admin, { department_id: 'dept_rep', ...pair }, seq)
    const again = await callAction(app, s.h, 'department.delete', s.admin, { department_id: 'dept_rep', ...pair }, seq)
    expect(first.reply.code).toBe(0)
    expect(again.reply).toEqual(first.reply)
  })
})
