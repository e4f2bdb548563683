import { describe, expect, it } from 'vitest'
import { orgTree } from '../../schema/index.ts'
import { callAction, createAndBind } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('org.tree', () => {
  it('lists departments and employees in the seed’s shape, to any bound employee', async () => {
    await s.h.db.query(`INSERT INTO department (department_id, name, parent_id, sort_order) VALUES
      ('dept_sales', '销售部', NULL, 1), ('dept_tech', '技术部', NULL, 2), ('dept_east', '华东区', 'dept_sales', 1)`)
    await callAction(app, s.h, 'employee.create', s.admin, {
      name: '张三',
      employee_id: 'emp_zhangsan_001',
      department_id: 'dept_sales',
      manager_id: 'admin',
    })
    await callAction(app, s.h, 'employee.create', s.admin, {
      name: '销售小助',
      employee_id: 'ai_sales_001',
      department_id: 'dept_sales',
      is_ai_agent: true,
      skills_badge: ['⚡实时响应'],
    })
    const reader = await createAndBind(app, s.h, s.admin, { name: 'Reader' })

    const a = await callAction(app, s.h, 'org.tree', reader.clientId)
    expect(a.reply.code).toBe(0)
    const tree = orgTree.reply.parse(a.reply.data)
    expect(tree.departments).toEqual([
      { department_id: 'dept_sales', name: '销售部', parent_id: null, sort_order: 1 },
      { department_id: 'dept_tech', name: '技术部', parent_id: null, sort_order: 2 },
      { department_id: 'dept_east', name: '华东区', parent_id: 'dept_sales', sort_order: 1 },
    ])
    const byId = Object.fromEntries(tree.employees.map((e) => [e.employee_id, e]))
    expect(byId.emp_zhangsan_001).toEqual({
      employee_id: 'emp_zhangsan_001',
      name: '张三',
      department_id: 'dept_sales',
      manager_id: 'admin',
      is_ai_agent: false,
      skills_badge: [],
      status: 'active',
    })
    expect(byId.ai_sales_001).toMatchObject({ is_ai_agent: true, skills_badge: ['⚡实时响应'], manager_id: null })
    expect(Object.keys(byId)).toEqual(expect.arrayContaining(['admin', reader.employee_id]))
  })

  it('refuses an unbound client', async () => {
    const a = await callAction(app, s.h, 'org.tree', 'nobody.dev')
    expect([a.status, a.reply.code]).toEqual([401, 401])
  })

  it('is a read: nothing is stored for it', async () => {
    await callAction(app, s.h, 'org.tree', s.admin, {}, 'read-1')
    const { rows } = await s.h.db.query(`SELECT count(*)::int AS n FROM request_reply WHERE seq_id = 'read-1'`)
    expect(rows[0].n).toBe(0)
  })
})
