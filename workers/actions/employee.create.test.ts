import { describe, expect, it } from 'vitest'
import { employeeCreate, employeeJoinedNotice } from '../../schema/index.ts'
import { callAction, createAndBind, nextSeq } from '../../test/support/workers.ts'
import { workerSuite } from '../../test/support/worker-suite.ts'
import { app } from '../app.ts'

const s = workerSuite()

describe('employee.create', () => {
  it('creates an employee and returns the seed’s reply with working MQTT credentials', async () => {
    const a = await callAction(app, s.h, 'employee.create', s.admin, {
      name: '张三',
      is_ai_agent: false,
      employee_id: 'emp_zhangsan_001',
    })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([200, 0, 'ok'])
    const data = employeeCreate.reply.parse(a.reply.data)
    expect(data.employee_id).toBe('emp_zhangsan_001')
    expect(data.name).toBe('张三')
    expect(Date.parse(data.created_at)).toBeGreaterThan(Date.now() - 60_000)
    expect(data.mqtt_connection).toMatchObject({
      broker_host: 'mqtt.test',
      broker_port: 1883,
      use_tls: false,
      mqtt_username: 'emp_zhangsan_001',
      client_id_scheme: '{employee_id}.{device_id}',
    })
    // The issued password proves the identity to auth.bind.
    const bind = await callAction(app, s.h, 'auth.bind', 'emp_zhangsan_001.laptop', {
      mqtt_password: data.mqtt_connection.mqtt_password,
    })
    expect(bind.reply.code).toBe(0)
    const { rows } = await s.h.db.query(
      `SELECT name, role, status, is_ai_agent FROM employee WHERE employee_id = 'emp_zhangsan_001'`,
    )
    expect(rows).toEqual([{ name: '张三', role: 'member', status: 'active', is_ai_agent: false }])
  })

  it('generates an id when none is given and audits without the password', async () => {
    const a = await callAction(app, s.h, 'employee.create', s.admin, { name: 'Generated' })
    expect(a.reply.data.employee_id).toMatch(/^emp_[0-9a-f]{24}$/)
    const audit = await s.h.db.query(
      `SELECT operator_employee_id, params::text AS p, result_code FROM audit_log WHERE action = 'employee.create' AND params->>'employee_id' = $1`,
      [a.reply.data.employee_id],
    )
    expect(audit.rows).toHaveLength(1)
    expect(audit.rows[0].operator_employee_id).toBe('admin')
    expect(audit.rows[0].result_code).toBe(0)
    expect(audit.rows[0].p).not.toContain(a.reply.data.mqtt_connection.mqtt_password)
  })

  it('only org admins may create employees', async () => {
    const m = await createAndBind(app, s.h, s.admin, { name: 'Member' })
    const a = await callAction(app, s.h, 'employee.create', m.clientId, { name: 'Nope' })
    expect([a.status, a.reply.code, a.reply.message]).toEqual([403, 403, 'only org admins can create employees'])
  })

  it('refuses an unbound client', async () => {
    const a = await callAction(app, s.h, 'employee.create', 'stranger.dev', { name: 'X' })
    expect([a.reply.code, a.reply.message]).toEqual([401, 'client is not bound: send auth.bind first'])
  })

  it('names the field that breaks the contract', async () => {
    expect((await callAction(app, s.h, 'employee.create', s.admin, {})).reply.message).toMatch(/^name: /)
    expect((await callAction(app, s.h, 'employee.create', s.admin, { name: '   ' })).reply.message).toMatch(/^name: /)
    expect(
      (await callAction(app, s.h, 'employee.create', s.admin, { name: 'A', employee_id: 'a/b' })).reply.message,
    ).toMatch(/^employee_id: /)
    expect((await callAction(app, s.h, 'employee.create', s.admin, { name: 'A', role: 'root' })).reply.message).toMatch(
      /^role: /,
    )
    expect((await callAction(app, s.h, 'employee.create', s.admin, { name: 'A', is_ai_agent: 'yes' })).reply.code).toBe(
      400,
    )
  })

  it('answers input Postgres cannot store (a NUL byte) with 400, not 500', async () => {
    const a = await callAction(app, s.h, 'employee.create', s.admin, { name: 'a\u0000b' })
    expect([a.status, a.reply.code]).toEqual([400, 400])
    // Named by the field, before the database would have refused it with its own words.
    expect(a.reply.message).toBe('name: must not contain U+0000 or an unpaired surrogate (they cannot be stored)')
  })

  it('answers 409 for a taken employee_id and 404 for an unknown department or manager', async () => {
    expect(
      (await callAction(app, s.h, 'employee.create', s.admin, { name: 'Dup', employee_id: 'admin' })).reply,
    ).toMatchObject({ code: 409, message: 'employee_id: already exists' })
    expect(
      (await callAction(app, s.h, 'employee.create', s.admin, { name: 'D', department_id: 'dept_none' })).reply,
    ).toMatchObject({ code: 404, message: 'department_id: no such department' })
    expect(
      (await callAction(app, s.h, 'employee.create', s.admin, { name: 'M', manager_id: 'mgr_none' })).reply,
    ).toMatchObject({ code: 404, message: 'manager_id: no such employee' })
  })

  it('creates exactly once per seq_id, returning the identical reply (password included) on a repeat', async () => {
    const seq = nextSeq()
    const first = await callAction(app, s.h, 'employee.create', s.admin, { name: 'Once' }, seq)
    const again = await callAction(app, s.h, 'employee.create', s.admin, { name: 'Once' }, seq)
    expect(again.reply).toEqual(first.reply)
    expect(again.reply.data.mqtt_connection.mqtt_password.length).toBeGreaterThan(20)
    const { rows } = await s.h.db.query(`SELECT count(*)::int AS n FROM employee WHERE name = 'Once'`)
    expect(rows[0].n).toBe(1)
    // The stored copy does not keep the credential at rest.
    const stored = await s.h.db.query(
      'SELECT reply::text AS r FROM request_reply WHERE client_id = $1 AND seq_id = $2',
      [s.admin, seq],
    )
    expect(stored.rows[0].r).not.toContain(first.reply.data.mqtt_connection.mqtt_password)
  })

  it('concurrent duplicates of one request create one employee and all get the same reply', async () => {
    const seq = nextSeq()
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => callAction(app, s.h, 'employee.create', s.admin, { name: 'Race' }, seq)),
    )
    const ids = new Set(answers.map((a) => a.reply.data?.employee_id))
    expect(answers.every((a) => a.reply.code === 0)).toBe(true)
    expect(ids.size).toBe(1)
    const { rows } = await s.h.db.query(`SELECT count(*)::int AS n FROM employee WHERE name = 'Race'`)
    expect(rows[0].n).toBe(1)
  })

  it('announces a new employee on mchat/system/notify (seed 002 §3.19 shape), the same notice on a replay', async () => {
    const seq = nextSeq()
    const a = await callAction(app, s.h, 'employee.create', s.admin, { name: '王五', employee_id: 'emp_notify_1' }, seq)
    expect(a.deliveries.map((d) => d.topic)).toEqual(['mchat/system/notify'])
    expect(employeeJoinedNotice.parse(a.deliveries[0]!.payload)).toMatchObject({
      type: 'employee_joined',
      body: { employee_id: 'emp_notify_1', name: '王五', department_id: null, is_ai_agent: false },
      created_at: a.reply.data.created_at,
    })
    const again = await callAction(
      app,
      s.h,
      'employee.create',
      s.admin,
      { name: '王五', employee_id: 'emp_notify_1' },
      seq,
    )
    expect(again.deliveries).toEqual(a.deliveries)
  })

  it('keeps an AI agent’s capabilities; refuses a profile on a human and fields it does not know', async () => {
    const ok = await callAction(app, s.h, 'employee.create', s.admin, {
      name: '销售小助',
      employee_id: 'ai_cap_1',
      is_ai_agent: true,
      skills_badge: ['⚡实时响应'],
      agent_profile: { model_type: 'gpt', capabilities: ['订单查询'] },
    })
    expect(ok.reply.code).toBe(0)
    const row = await s.h.db.query(`SELECT agent_profile FROM employee WHERE employee_id = 'ai_cap_1'`)
    // The rest of the profile is the agents' (employee.agents.test.ts): no webhook, so MQTT-connected.
    expect(row.rows[0].agent_profile).toMatchObject({
      model_type: 'gpt',
      capabilities: ['订单查询'],
      connection: 'mqtt',
    })
    const human = await callAction(app, s.h, 'employee.create', s.admin, {
      name: 'H',
      agent_profile: { capabilities: ['x'] },
    })
    expect([human.reply.code, human.reply.message]).toEqual([
      400,
      'agent_profile: only AI agents have one (is_ai_agent: true)',
    ])
    const unknown = await callAction(app, s.h, 'employee.create', s.admin, {
      name: 'A',
      is_ai_agent: true,
      agent_profile: { secret_sauce: true },
    })
    expect(unknown.reply.code).toBe(400)
    expect(unknown.reply.message).toMatch(/^agent_profile/)
  })
})
